"""Email/set and Email/copy storage hooks (RFC 8621 §4.6, §4.7).

Creation composes MIME with the domain composer, then stores it exactly as
an imported message would be (parse once, thread, index). Updates may only
touch keywords and mailboxIds; everything else is immutable and the engine
answers invalidProperties for it.
"""

from __future__ import annotations

from typing import Any

from jmapd import quota
from jmapd.methods.types import UTC_DATE_RE
from jmapd.protocol.errors import PropertyProblems, SetError, invalid_properties

from .. import rights, store
from ..blobs import read_any_blob
from ..domain.compose import BlobNotFoundError, ComposeError, compose_message
from ..domain.parse import ParsedMessage, parse_message
from ..models import Email
from ..msgid import message_id_host

MAX_KEYWORDS = 256
COPY_PROPERTIES = {"id", "mailboxIds", "keywords", "receivedAt"}


def mailbox_paths(account_id: str, mailbox_ids: Any, readable: set[str] | None = None,
                  known: set[str] | None = None) -> list[str]:
    """Every invalid path of a mailboxIds value (RFC 8620 §5.3 lists them all).

    ``readable``: for a sharee, the Mailboxes they see; the others do not exist for them.
    ``known``: the Mailboxes of the account among a superset of these ids, read once for
    a whole call (Email/import) instead of once per Email."""
    if not isinstance(mailbox_ids, dict) or not mailbox_ids:
        return ["mailboxIds"]
    bad = [f"mailboxIds/{k}" for k, v in mailbox_ids.items() if v is not True]
    existing = (store.existing_mailboxes(account_id, mailbox_ids) if known is None
                else known & set(mailbox_ids))
    if readable is not None:
        existing &= readable
    missing = sorted(set(mailbox_ids) - existing)
    return bad + [f"mailboxIds/{m}" for m in missing if f"mailboxIds/{m}" not in bad]


def keyword_paths(keywords: Any) -> list[str]:
    if not isinstance(keywords, dict):
        return ["keywords"]
    return [f"keywords/{k}" for k, v in keywords.items() if v is not True or not store.valid_keyword(k)]


def check_keyword_count(keywords: dict[str, Any]) -> None:
    if len({k.lower() for k in keywords}) > MAX_KEYWORDS:
        raise SetError("tooManyKeywords", f"at most {MAX_KEYWORDS} keywords")


def check_counts(ctx: Any, mailbox_ids: dict[str, Any], keywords: dict[str, Any]) -> None:
    section = ctx.config.section("mail")
    if len(mailbox_ids) > section.max_mailboxes_per_email:
        raise SetError("tooManyMailboxes", f"an Email may be in at most {section.max_mailboxes_per_email} Mailboxes")
    check_keyword_count(keywords)


def check_mailboxes_and_keywords(ctx: Any, account_id: str, mailbox_ids: Any, keywords: Any) -> None:
    """Rules shared by create, update, copy and import (raise SetError)."""
    paths = mailbox_paths(account_id, mailbox_ids, rights.readable(ctx, account_id)) + keyword_paths(keywords)
    if paths:
        raise invalid_properties(*paths, description="an Email must be in at least one existing Mailbox; keywords valid and true")
    check_counts(ctx, mailbox_ids, keywords)


def check_keywords(keywords: Any) -> None:
    paths = keyword_paths(keywords)
    if paths:
        raise invalid_properties(*paths, description="keywords must be valid and true")
    check_keyword_count(keywords)


#: Set by validate() on a created Email: the composed message and the blobs it
#: took parts from (never stored as a property).
_COMPOSED = "\0composed"


class EmailWriteMixin:
    """Storage hooks for the standard /set and /copy engine."""

    def update_needs_savepoint(self, old: dict[str, Any], new: dict[str, Any], changed: set[str]) -> bool:
        """A keyword-only update needs none: :meth:`validate` only reads and
        raises (for the owner and a sharee alike), and :meth:`replace` then
        writes one UPDATE (``store.set_keywords``, which defers the rest to
        the ChangeLog) with nothing after it that refuses; the engine
        charges no quota for Emails. A bulk flag change saves two of its
        three statements per Email (issue #17)."""
        return changed != {"keywords"}

    def validate(self, ctx: Any, account_id: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        if old is None:
            self._compose_checked(ctx, account_id, obj)
            if rights.readable(ctx, account_id) is None:
                check_counts(ctx, obj["mailboxIds"], obj.get("keywords") or {})
                return
        if rights.readable(ctx, account_id) is not None:
            self._validate_sharee(ctx, account_id, obj, old)
            return
        if old is not None and obj.get("mailboxIds") == old.get("mailboxIds"):
            # Keyword-only update: the (unchanged) Mailboxes need no lookup.
            check_keywords(obj.get("keywords") or {})
            return
        check_mailboxes_and_keywords(ctx, account_id, obj.get("mailboxIds"), obj.get("keywords") or {})

    def _validate_sharee(self, ctx: Any, account_id: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        """Email/set by a sharee: the Mailboxes they cannot see are kept as they
        are (mailboxIds showed only theirs), and every change is checked
        against the rights on the Mailboxes concerned (RFC 8621 §2)."""
        readable = rights.readable(ctx, account_id) or set()
        keywords = obj.get("keywords") or {}
        check_mailboxes_and_keywords(ctx, account_id, obj.get("mailboxIds"), keywords)
        before: set[str] | None = None
        if old is not None:
            before = set(store.email_mailbox_map(account_id, [old["id"]]).get(old["id"], {}))
            obj["mailboxIds"] = {m: True for m in sorted(set(obj["mailboxIds"]) | (before - readable))}
            check_counts(ctx, obj["mailboxIds"], keywords)
        rights.check_email_change(
            ctx, account_id, before, set(obj["mailboxIds"]), (old or {}).get("keywords") or {}, keywords
        )

    def check_destroy(self, ctx: Any, account_id: str, obj: dict[str, Any], args: dict[str, Any]) -> None:
        """Destroying an Email removes it from every Mailbox: mayRemoveItems on each."""
        if rights.readable(ctx, account_id) is not None:
            where = store.email_mailbox_map(account_id, [obj["id"]]).get(obj["id"], {})
            rights.require(ctx, account_id, where, "mayRemoveItems", "destroy this Email")

    def _compose_checked(self, ctx: Any, account_id: str, obj: dict[str, Any]) -> None:
        """Compose a created Email, checking the whole object at once: every
        invalid mailboxIds, keywords and body path in one invalidProperties
        (RFC 8620 §5.3); missing attachment blobs only once all else is valid."""
        problems = PropertyProblems()
        readable = rights.readable(ctx, account_id)
        for path in mailbox_paths(account_id, obj.get("mailboxIds"), readable) + keyword_paths(obj.get("keywords") or {}):
            problems.add(path, "an Email must be in at least one existing Mailbox; keywords valid and true")
        missing: list[str] = []
        try:
            obj[_COMPOSED] = self._compose(ctx, account_id, obj)
        except ComposeError as exc:
            for path, description in exc.problems:
                problems.add(path or "bodyStructure", description)
        except BlobNotFoundError as exc:
            missing = exc.not_found
        problems.check()
        if missing:
            raise SetError("blobNotFound", "attachment blobs not found", notFound=missing)

    def _compose(self, ctx: Any, account_id: str, obj: dict[str, Any]) -> tuple[bytes, set[str]]:
        """The message's octets and the blobs it took parts from."""
        services = ctx.services
        message = {k: v for k, v in obj.items() if k != "id" and not k.startswith("\0")}
        attached: set[str] = set()

        def read_part(blob_id: str) -> bytes | None:
            blob_id = ctx.resolve_id(blob_id)
            if not rights.blob_readable(ctx, account_id, blob_id):
                return None
            attached.add(blob_id)
            return read_any_blob(services, account_id, blob_id)

        raw = compose_message(message, read_part, message_id_domain=message_id_host(ctx.config.section("mail").hostname))
        return raw, attached

    def insert(self, ctx: Any, account_id: str, obj: dict[str, Any]) -> dict[str, Any]:
        services = ctx.services
        if _COMPOSED not in obj:  # validate() composes every create; this is its safety net
            self._compose_checked(ctx, account_id, obj)
        raw, attached = obj.pop(_COMPOSED)
        parsed = parse_message(raw)
        limit = ctx.config.section("mail").max_size_attachments_per_email
        if sum(parsed.part(p).size for p in parsed.attachments) > limit:
            raise SetError("tooLarge", f"attachments exceed {limit} octets")
        for blob_id in sorted(attached):  # the new message holds (and is charged for) their octets
            quota.release_upload(ctx.config, ctx.changes, account_id, blob_id)
        result = store.create_email(
            services, ctx.changes, account_id, raw, list(obj["mailboxIds"]), list(obj.get("keywords") or {}),
            store.parse_utc(obj["receivedAt"]) if obj.get("receivedAt") else None, parsed=parsed, record_self=False,
            email_id=obj["id"],
        )
        return {k: result[k] for k in ("blobId", "threadId", "size")}

    def replace(self, ctx: Any, account_id: str, old: dict[str, Any], new: dict[str, Any], changed: set[str]) -> dict[str, Any] | None:
        if "keywords" in changed:
            store.set_keywords(ctx.changes, account_id, old["id"], list(new.get("keywords") or {}),
                               old=list(old.get("keywords") or {}), thread_id=old.get("threadId"))
        if "mailboxIds" in changed:
            store.set_mailboxes(ctx.changes, account_id, old["id"], list(new["mailboxIds"]))
        return None

    def delete(self, ctx: Any, account_id: str, obj: dict[str, Any], args: dict[str, Any]) -> None:
        store.destroy_email(ctx.services, ctx.changes, account_id, obj["id"], record_self=False)

    # -- /copy ----------------------------------------------------------------
    def copy_object(self, ctx: Any, from_account: str, to_account: str, source: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(overrides, dict):
            raise SetError("invalidProperties", "object expected")
        problems = PropertyProblems()  # all of them at once (RFC 8620 §5.3)
        for key in sorted(set(overrides) - COPY_PROPERTIES):
            problems.add(key, "only mailboxIds, keywords and receivedAt may be set by a copy")
        mailbox_ids = overrides.get("mailboxIds")
        if isinstance(mailbox_ids, dict):
            mailbox_ids = {ctx.resolve_id(k): v for k, v in mailbox_ids.items()}
        if "mailboxIds" not in overrides:
            problems.add("mailboxIds", "mailboxIds is required")
        else:
            for path in mailbox_paths(to_account, mailbox_ids, rights.readable(ctx, to_account)):
                problems.add(path, "an Email must be in at least one existing Mailbox")
        keywords = overrides.get("keywords", source.get("keywords") or {})
        for path in keyword_paths(keywords):
            problems.add(path, "keywords must be valid and true")
        received = overrides.get("receivedAt", source["receivedAt"])
        if not isinstance(received, str) or not UTC_DATE_RE.match(received):
            problems.add("receivedAt", "a UTCDate")
        problems.check()
        return {"mailboxIds": mailbox_ids, "keywords": keywords, "receivedAt": received}

    def insert_copy(self, ctx: Any, from_account: str, to_account: str, source: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        check_mailboxes_and_keywords(ctx, to_account, obj["mailboxIds"], obj["keywords"])
        rights.check_email_change(ctx, to_account, None, set(obj["mailboxIds"]), (), obj["keywords"])
        row = Email.select(Email.blob_id, Email.parsed).where((Email.account_id == from_account) & (Email.id == source["id"])).first()
        raw = ctx.services.blobs.read(row.blob_id) if row else None
        if raw is None:
            raise SetError("notFound", "the message content is gone")
        result = store.create_email(
            ctx.services, ctx.changes, to_account, raw, list(obj["mailboxIds"]), list(obj["keywords"]),
            store.parse_utc(obj["receivedAt"]), parsed=ParsedMessage.from_json(row.parsed, raw=raw), record_self=False,
        )
        return dict(result)
