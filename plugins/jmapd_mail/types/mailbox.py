"""Mailbox (RFC 8621 §2): a table of its own; counts are rows every write moves (see counts.py).

Mailboxes are shareable (the mail sharing draft): the engine keeps
``shareWith`` and ``myRights`` (the nine RFC 8621 rights and ``mayShare``),
hides from a sharee the Mailboxes they cannot read and checks ``mayRename``
and ``mayDelete``; this module adds ``mayCreateChild`` and what a sharee must
not see (a parent they cannot read, the id of a sibling in a name clash).
A new child Mailbox inherits its parent's grants (as IMAP ACLs do), so a
sharee sees what they created and a shared tree stays shared.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from typing import Any

from jmapd.db import tuples
from jmapd.methods.collation import sort_key
from jmapd.methods.types import DataType, Invalid, P, is_id
from jmapd.protocol.errors import PropertyProblems, SetError
from jmapd.sharing import Sharing, access, inherit_shares
from jmapd.state import UPDATED

from .. import counts, rights, store
from ..capability import MAIL
from ..models import EmailMailbox, Mailbox

COUNTS = store.COUNT_PROPS
ROLES = {
    "all", "archive", "drafts", "flagged", "important", "inbox", "junk", "sent", "subscribed", "trash",
    "snoozed", "scheduled", "memos",
}
#: RFC 8621 §2's nine rights, then the sharing draft's mayShare.
RIGHTS = ("mayReadItems", "mayAddItems", "mayRemoveItems", "maySetSeen", "maySetKeywords",
          "mayCreateChild", "mayRename", "mayDelete", "maySubmit", "mayShare")


#: RFC 8621 §2: "0 <= sortOrder < 2^31".
MAX_SORT_ORDER = 2**31 - 1
#: Set by validate() on an object whose name it normalised (never stored).
_RENAMED = "\0name"


def _check_name(value: str) -> None:
    """A Net-Unicode string (RFC 5198): no C0 or C1 controls nor DEL (NFC is
    applied by MailboxType.validate)."""
    if not value.strip():
        raise Invalid("", "name must not be empty")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value):
        raise Invalid("", "name must not contain control characters")


def _check_sort_order(value: int) -> None:
    if value > MAX_SORT_ORDER:
        raise Invalid("", f"sortOrder must be below 2^31 (at most {MAX_SORT_ORDER})")


def _check_role(value: str) -> None:
    if value not in ROLES:
        raise Invalid("", f"unknown role {value!r} (roles are lower-case IANA names)")


class MailboxType(DataType):
    name = "Mailbox"
    capability = MAIL
    id_prefix = "m"
    properties = {
        "name": P("String", required=True, check=_check_name),
        "parentId": P("Id", nullable=True, default=None, ref="id"),
        "role": P("String", nullable=True, default=None, check=_check_role),
        "sortOrder": P("UnsignedInt", default=0, check=_check_sort_order),
        "totalEmails": P("UnsignedInt", server_set=True),
        "unreadEmails": P("UnsignedInt", server_set=True),
        "totalThreads": P("UnsignedInt", server_set=True),
        "unreadThreads": P("UnsignedInt", server_set=True),
        "isSubscribed": P("Boolean", default=True),
    }
    sharing = Sharing(
        rights=RIGHTS,
        read="mayReadItems",
        share="mayShare",
        update="mayRename",
        destroy="mayDelete",
        read_only=("mayReadItems",),
        per_user=("isSubscribed",),
        items=("Email", "Thread"),
        # a blob goes into a shared Mailbox as an Email (Email/import) or an
        # attachment of one (Email/set), both of which need mayAddItems there
        upload=("mayAddItems",),
    )
    set_arguments = {"onDestroyRemoveEmails": False}
    query_arguments = {"sortAsTree": False, "filterAsTree": False}
    reports_updated_properties = True
    count_properties = frozenset(COUNTS)
    filters = {"parentId": "Any", "name": "String", "role": "Any", "hasAnyRole": "Boolean", "isSubscribed": "Boolean"}
    sorts = frozenset({"sortOrder", "name"})

    def check_filter(self, name: str, value: Any) -> bool:
        if name == "parentId":
            return value is None or is_id(value)
        if name == "role":
            return value is None or isinstance(value, str)
        return super().check_filter(name, value)

    # -- storage ------------------------------------------------------------
    def load(self, ctx: Any, account_id: str, ids: list[str] | None, properties: list[str], args: dict[str, Any]) -> dict[str, dict[str, Any]]:
        query = Mailbox.select().where(Mailbox.account_id == account_id)
        if ids is not None:
            if not ids:
                return {}
            query = query.where(Mailbox.id.in_(ids))
        rows = list(query.order_by(Mailbox.sort_order, Mailbox.name, Mailbox.id))
        visible = access(ctx, account_id).visible(self.name)
        # Two plain statements: a LEFT JOIN of the counts costs PostgreSQL more
        # planning (0.45 ms) than the round trip it saves.
        stored: dict[str, dict[str, int]] = {}
        if any(p in COUNTS for p in properties):
            # a sharee: counted over what they can read
            stored = counts.read(account_id) if visible is None else counts.for_reader(
                account_id, rights.readable(ctx, account_id) or set())
        out = {}
        for row in rows:
            # A sharee sees a Mailbox whose parent they cannot read at the top.
            parent = row.parent_id if visible is None or row.parent_id in visible else None
            obj = {
                "id": row.id, "name": row.name, "parentId": parent, "role": row.role,
                "sortOrder": row.sort_order, "isSubscribed": row.is_subscribed,
            }
            obj.update(stored.get(row.id) or dict.fromkeys(COUNTS, 0))
            out[row.id] = obj
        return out

    def insert(self, ctx: Any, account_id: str, obj: dict[str, Any]) -> dict[str, Any]:
        renamed = obj.pop(_RENAMED, False)
        Mailbox.insert(
            id=obj["id"], account_id=account_id, name=obj["name"], parent_id=obj.get("parentId"),
            role=obj.get("role"), sort_order=obj.get("sortOrder") or 0, is_subscribed=obj.get("isSubscribed", True),
        ).execute()
        if obj.get("parentId") is not None and not obj.get("shareWith"):
            inherit_shares(self, ctx, account_id, obj, obj["parentId"])
        extra: dict[str, Any] = dict.fromkeys(COUNTS, 0)
        if renamed:  # the server changed a property the client set: it is returned
            extra["name"] = obj["name"]
        return extra

    def replace(self, ctx: Any, account_id: str, old: dict[str, Any], new: dict[str, Any], changed: set[str]) -> dict[str, Any] | None:
        renamed = new.pop(_RENAMED, False)
        # Only what changed: a sharee's view may differ from the row (a hidden parent).
        columns = {"name": "name", "parentId": "parent_id", "role": "role", "sortOrder": "sort_order",
                   "isSubscribed": "is_subscribed"}
        values: dict[str, Any] = {columns[p]: new.get(p) for p in changed if p in columns}
        if "sortOrder" in changed:
            values["sort_order"] = new.get("sortOrder") or 0
        if renamed:
            values["name"] = new["name"]
        if values:
            Mailbox.update(**values).where((Mailbox.account_id == account_id) & (Mailbox.id == old["id"])).execute()
        if "role" in changed and "trash" in (old.get("role"), new.get("role")):
            # The trash decides every Mailbox's unreadThreads: count them again.
            counts.rebuild(account_id)
            store.touch_mailboxes(ctx.changes, account_id, counts.read(account_id))
        return {"name": new["name"]} if renamed else None

    def delete(self, ctx: Any, account_id: str, obj: dict[str, Any], args: dict[str, Any]) -> None:
        mailbox_id = obj["id"]
        email_ids = [r[0] for r in tuples(EmailMailbox.select(EmailMailbox.email_id).where(EmailMailbox.mailbox_id == mailbox_id))]
        memberships = store.email_mailbox_map(account_id, email_ids)
        for email_id in email_ids:
            others = [m for m in memberships.get(email_id, {}) if m != mailbox_id]
            if others:
                store.set_mailboxes(ctx.changes, account_id, email_id, others)
                ctx.changes.record(account_id, "Email", email_id, UPDATED, props=["mailboxIds"])
            else:
                store.destroy_email(ctx.services, ctx.changes, account_id, email_id)
        Mailbox.delete().where((Mailbox.account_id == account_id) & (Mailbox.id == mailbox_id)).execute()
        counts.forget(mailbox_id)

    # -- rules ----------------------------------------------------------------
    def validate(self, ctx: Any, account_id: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        section = ctx.config.section("mail")
        problems = PropertyProblems()  # every invalid property, not the first (RFC 8620 §5.3)
        name = obj.get("name")
        if isinstance(name, str) and not unicodedata.is_normalized("NFC", name):  # Net-Unicode is NFC (RFC 5198)
            name = obj["name"] = unicodedata.normalize("NFC", name)
            obj[_RENAMED] = True
        if isinstance(name, str) and len(name.encode("utf-8")) > section.max_size_mailbox_name:
            problems.add("name", f"name longer than {section.max_size_mailbox_name} octets")
        parent = obj.get("parentId")
        rows = {r.id: r for r in Mailbox.select(Mailbox.id, Mailbox.parent_id, Mailbox.name, Mailbox.role).where(Mailbox.account_id == account_id)}
        moved = old is None or parent != old.get("parentId")
        if not moved and obj["id"] in rows:
            parent = rows[obj["id"]].parent_id  # as stored: a sharee may see it as null
        acc = access(ctx, account_id)
        if not acc.full:
            self._check_sharee(acc, obj, old, parent, moved)
        depth = 1
        if parent is not None and parent not in rows:
            problems.add("parentId", f"no Mailbox {parent}")
        elif parent is not None:
            cursor, seen = parent, set()
            while cursor is not None:
                if cursor == obj["id"] or cursor in seen:
                    problems.add("parentId", "a Mailbox cannot be its own ancestor")
                    break
                seen.add(cursor)
                depth += 1
                cursor = rows[cursor].parent_id if cursor in rows else None
        if old is not None and old.get("parentId") != parent:
            depth += self._height(rows, obj["id"])
        if depth > section.max_mailbox_depth:
            problems.add("parentId", f"Mailboxes nest at most {section.max_mailbox_depth} deep")
        duplicate: str | None = None
        for row in rows.values():
            if row.id == obj["id"]:
                continue
            if row.parent_id == parent and row.name == name:
                if not acc.full and not acc.has(self.name, row.id, "mayReadItems"):
                    # the clash is real, but the sibling's id is not the sharee's to learn
                    problems.add("name", "a sibling Mailbox already has this name")
                else:
                    duplicate = row.id
            if obj.get("role") is not None and row.role == obj["role"]:
                problems.add("role", f"another Mailbox has role {obj['role']}")
        problems.check()
        if duplicate is not None:
            # RFC 8620 §5.3: the server forbids duplicates and the record exists.
            raise SetError("alreadyExists", "a sibling Mailbox already has this name", existingId=duplicate)

    def _check_sharee(
        self, acc: Any, obj: dict[str, Any], old: dict[str, Any] | None, parent: str | None, moved: bool
    ) -> None:
        """RFC 8621 §2 for a sharee: a Mailbox moves only into one where they
        have mayCreateChild (creating one is checked by :meth:`may_create_shared`);
        roles belong to the owner's own use of their account."""
        if old is not None and moved:
            if parent is None or not acc.has(self.name, parent, "mayCreateChild"):
                raise SetError("forbidden", "mayCreateChild is needed on the new parent Mailbox")
        if obj.get("role") != (old or {}).get("role"):
            raise SetError("forbidden", "only the account's owner sets Mailbox roles")

    def may_create_shared(self, ctx: Any, account_id: str, obj: dict[str, Any], access: Any) -> bool:
        """A sharee creates a child of a Mailbox where they have mayCreateChild."""
        parent = obj.get("parentId")
        return isinstance(parent, str) and access.has(self.name, parent, "mayCreateChild")

    @staticmethod
    def _height(rows: dict[str, Any], mailbox_id: str) -> int:
        """Levels of descendants below ``mailbox_id`` (0 for a leaf)."""
        children: dict[str | None, list[str]] = defaultdict(list)
        for row in rows.values():
            children[row.parent_id].append(row.id)
        height, level, seen = 0, [mailbox_id], {mailbox_id}
        while True:
            level = [c for m in level for c in children.get(m, []) if c not in seen]
            if not level:
                return height
            seen.update(level)
            height += 1

    def check_destroy(self, ctx: Any, account_id: str, obj: dict[str, Any], args: dict[str, Any]) -> None:
        if Mailbox.select().where((Mailbox.account_id == account_id) & (Mailbox.parent_id == obj["id"])).exists():
            raise SetError("mailboxHasChild", "destroy or move the child Mailboxes first")
        has_email = EmailMailbox.select().where(EmailMailbox.mailbox_id == obj["id"]).exists()
        if not args.get("onDestroyRemoveEmails") and has_email:
            raise SetError("mailboxHasEmail", "the Mailbox has Emails; set onDestroyRemoveEmails to remove them")
        if has_email:  # removing its Emails is removing items (RFC 8621 §2)
            acc = access(ctx, account_id)
            if not acc.full:
                acc.require(self.name, obj["id"], "mayRemoveItems")

    # -- query -----------------------------------------------------------------
    def _matches(self, obj: dict[str, Any], node: Any) -> bool:
        if node is None:
            return True
        if "operator" in node:
            results = [self._matches(obj, c) for c in node["conditions"]]
            if node["operator"] == "AND":
                return all(results)
            if node["operator"] == "OR":
                return any(results)
            return not any(results)
        for key, value in node.items():
            if key == "parentId" and obj["parentId"] != value:
                return False
            if key == "name" and value.casefold() not in obj["name"].casefold():
                return False
            if key == "role" and obj["role"] != value:
                return False
            if key == "hasAnyRole" and (obj["role"] is not None) != value:
                return False
            if key == "isSubscribed" and obj["isSubscribed"] != value:
                return False
        return True

    def query(self, ctx: Any, account_id: str, filter: Any, sort: list[dict[str, Any]], args: dict[str, Any]) -> list[str]:
        objects = self.load(ctx, account_id, None, ["name", "parentId", "role", "sortOrder", "isSubscribed"], {})

        def key(obj: dict[str, Any]) -> tuple[Any, ...]:
            parts = []
            for c in sort:
                k = sort_key(obj.get(c["property"]), c.get("collation"))
                parts.append(k if c.get("isAscending", True) else _Reverse(k))
            return (*parts, obj["id"])

        matching = {i for i, o in objects.items() if self._matches(o, filter)}
        if args.get("filterAsTree"):
            def ancestors_match(i: str) -> bool:
                seen = set()
                cursor = objects[i]["parentId"]
                while cursor is not None and cursor not in seen:
                    seen.add(cursor)
                    if cursor not in matching:
                        return False
                    cursor = objects.get(cursor, {}).get("parentId")
                return True
            matching = {i for i in matching if ancestors_match(i)}
        if not args.get("sortAsTree"):
            return [o["id"] for o in sorted((objects[i] for i in matching), key=key)]
        children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
        for obj in objects.values():
            parent = obj["parentId"] if obj["parentId"] in objects else None
            children[parent].append(obj)
        out: list[str] = []
        stack: list[dict[str, Any]] = list(reversed(sorted(children[None], key=key)))
        visited: set[str] = set()
        while stack:
            obj = stack.pop()
            if obj["id"] in visited:
                continue
            visited.add(obj["id"])
            if obj["id"] in matching:
                out.append(obj["id"])
            stack.extend(reversed(sorted(children.get(obj["id"], []), key=key)))
        return out


class _Reverse:
    """Inverts ordering of a sort key (descending comparators in a tuple key)."""

    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key

    def __lt__(self, other: _Reverse) -> bool:
        return bool(other.key < self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reverse) and self.key == other.key
