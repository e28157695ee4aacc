"""Mailbox counts stored per Mailbox instead of counted on every read.

Creates ``mail_mailbox_count`` and fills it from the membership rows, with
the same definition :mod:`jmapd_mail.counts` keeps afterwards (frozen here:
unreadThreads counts a Thread unread outside the trash in every Mailbox but
the trash, and the trash counts Threads unread in the trash).
"""

from collections import defaultdict
from typing import Any

from jmapd.db import is_postgres


def up(db: Any) -> None:
    pg = is_postgres(db)
    mark = "%s" if pg else "?"
    db.execute_sql(
        "CREATE TABLE IF NOT EXISTS mail_mailbox_count (mailbox_id VARCHAR(64) NOT NULL PRIMARY KEY,"
        " account_id VARCHAR(64) NOT NULL, total_emails BIGINT NOT NULL DEFAULT 0,"
        " unread_emails BIGINT NOT NULL DEFAULT 0, total_threads BIGINT NOT NULL DEFAULT 0,"
        " unread_threads BIGINT NOT NULL DEFAULT 0)"
    )
    db.execute_sql("CREATE INDEX IF NOT EXISTS mail_mailbox_count_account_id ON mail_mailbox_count (account_id)")
    trash = dict(db.execute_sql("SELECT account_id, id FROM mail_mailbox WHERE role = 'trash'").fetchall())
    accounts = [r[0] for r in db.execute_sql("SELECT DISTINCT account_id FROM mail_email_mailbox").fetchall()]
    unread_sum = "SUM(CASE WHEN unread THEN 1 ELSE 0 END)"
    for account_id in accounts:
        threads: defaultdict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
        rows = db.execute_sql(
            f"SELECT thread_id, mailbox_id, COUNT(*), {unread_sum} FROM mail_email_mailbox"
            f" WHERE account_id = {mark} GROUP BY thread_id, mailbox_id",
            (account_id,),
        ).fetchall()
        for thread_id, mailbox_id, total, unread in rows:
            threads[thread_id][mailbox_id] = (int(total), int(unread or 0))
        trash_id = trash.get(account_id, "")
        counts: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for per_mailbox in threads.values():
            thread_unread = any(u for m, (_, u) in per_mailbox.items() if m != trash_id)
            for mailbox_id, (total, unread) in per_mailbox.items():
                c = counts[mailbox_id]
                c[0] += total
                c[1] += unread
                c[2] += 1
                c[3] += (1 if unread else 0) if mailbox_id == trash_id else (1 if thread_unread else 0)
        for mailbox_id, c in counts.items():
            db.execute_sql(
                "INSERT INTO mail_mailbox_count (mailbox_id, account_id, total_emails, unread_emails,"
                f" total_threads, unread_threads) VALUES ({', '.join([mark] * 6)})",
                (mailbox_id, account_id, *c),
            )
