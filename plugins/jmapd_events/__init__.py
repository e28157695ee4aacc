"""jmapd events plugin: EventSource, JMAP over WebSocket (RFC 8887) and PushSubscription.

See README.md for the operator and client view; ``domain/`` holds the
framework-free protocol logic, the other modules wire it into the server.
"""
