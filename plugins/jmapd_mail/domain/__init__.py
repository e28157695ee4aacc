"""Pure mail domain library for jmapd: MIME in (parse) and out (compose), no server imports.

Modules: headers (RFC 8621 header forms), parse (ParsedMessage), structure
(EmailBodyPart tree, body/attachment split), compose (Email/set create → MIME),
thread (base subjects, related message-ids), text/encoding/mime (helpers).
"""
