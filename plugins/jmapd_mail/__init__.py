"""The JMAP mail capability (RFC 8621): Mailbox, Thread, Email, SearchSnippet."""
