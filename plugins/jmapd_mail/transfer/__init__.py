"""Moving mail in and out: ``jmapd import`` (IMAP, Maildir, mbox, .eml) and ``jmapd export``.

Sources yield :class:`~.sources.SourceMessage` values; :mod:`.importer`
writes them in batches through :mod:`jmapd_mail.store` (the same rows,
threads, indexes and change log every other writer produces) and records a
per-mailbox content key with each message in the same transaction, so an
interrupted run resumes without duplicating anything.
"""
