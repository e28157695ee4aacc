"""Emails count toward quotas (#11): the usage of the Emails stored before
charging began, so ``used`` is exact from the first write after this."""

from typing import Any


def up(db: Any) -> None:
    db.execute_sql("DELETE FROM jmap_quota_usage WHERE type_name = 'Email'")
    db.execute_sql(
        "INSERT INTO jmap_quota_usage (account_id, type_name, count, octets)"
        " SELECT account_id, 'Email', COUNT(*), COALESCE(SUM(size), 0) FROM mail_email GROUP BY account_id"
    )


def down(db: Any) -> None:
    db.execute_sql("DELETE FROM jmap_quota_usage WHERE type_name = 'Email'")
