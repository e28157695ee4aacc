"""Push subscriptions are tied to the credential that created them (RFC 8620 §7.2).

Subscriptions made before this migration cannot be attributed to a credential,
so they could be neither listed nor delivered to any more: the table is
recreated empty, which also erases their URLs and keys. Clients notice that
their deviceClientId has no subscription and create a new one, the RFC flow.
"""

from typing import Any

from jmapd_events.models import PushSubscription


def up(db: Any) -> None:
    db.drop_tables([PushSubscription], safe=True)
    db.create_tables([PushSubscription], safe=True)


def down(db: Any) -> None:
    pass
