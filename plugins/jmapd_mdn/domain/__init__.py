"""RFC 8098 disposition notifications: composing and reading them, with no
JMAP, Falcon or database imports."""
