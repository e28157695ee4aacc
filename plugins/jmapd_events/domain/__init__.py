"""Pure domain logic of the events (push) plugin: no server core, Falcon or Peewee.

Modules:

- :mod:`.webpush`     RFC 8291 / RFC 8188 aes128gcm payload encryption, push headers
- :mod:`.vapid`       RFC 8292 VAPID key management and Authorization header
- :mod:`.ssrf`        push-URL admission and pinned address resolution
- :mod:`.sse`         text/event-stream framing and EventSource query parsing
- :mod:`.statechange` StateChange / PushVerification objects, delivery retry policy

Kept free of framework imports so it can be unit-tested in isolation and
reused by both the HTTP push worker and the EventSource endpoint.
"""
