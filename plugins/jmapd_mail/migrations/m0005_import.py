"""The bookkeeping of ``jmapd import``: per-Mailbox content keys and IMAP resume points."""

from typing import Any


def up(db: Any) -> None:
    db.execute_sql(
        "CREATE TABLE IF NOT EXISTS mail_import_key (account_id VARCHAR(64) NOT NULL, mailbox_id VARCHAR(64) NOT NULL,"
        " digest VARCHAR(64) NOT NULL, email_id VARCHAR(64) NOT NULL, PRIMARY KEY (account_id, mailbox_id, digest))"
    )
    db.execute_sql("CREATE INDEX IF NOT EXISTS mail_import_key_account_id_digest ON mail_import_key (account_id, digest)")
    db.execute_sql(
        "CREATE TABLE IF NOT EXISTS mail_import_state (account_id VARCHAR(64) NOT NULL, source VARCHAR(255) NOT NULL,"
        " folder TEXT NOT NULL, uidvalidity BIGINT NOT NULL, last_uid BIGINT NOT NULL DEFAULT 0)"
    )
    db.execute_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS mail_import_state_account_id_source_folder"
        " ON mail_import_state (account_id, source, folder)"
    )
