"""HTTP resources: thin — parse, call a service, serialise."""
