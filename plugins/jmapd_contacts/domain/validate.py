"""JSContact Card validation (RFC 9553 as updated by RFC 9982).

``ContactCard/set`` must answer ``invalidProperties`` naming every bad
property, so validation collects all invalid paths (``emails/e1/address``,
``name/components/0/kind``) instead of stopping at the first.

The schema is a table (:data:`SCHEMAS`) rather than one function per object
type: JSContact's object types share most of their members (``contexts``,
``pref``, ``label``, the Resource members), and a table keeps the rules in
one reviewable place next to the RFC section they come from.

Rules applied: value types (String, Boolean, UnsignedInt, Id, UTCDateTime,
``pref`` 1..100), ``@type`` values where an object may carry one, Id-keyed
maps, mandatory members, enumerations (registered values or vendor-specific
``domain:name`` values), Boolean maps whose values must be ``true``, the
"at least one of" rules (Name, Author, Address), ``uid`` mandatory only in
version 1.0 (RFC 9982), and ``localizations`` patches, which are applied and
the patched card validated, errors reported under the patch's own path.
Unknown properties are kept (RFC 9553 §1.7 asks implementations to preserve
them); vendor-extension names (``example.com:foo``) may hold any JSON value.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable
from typing import Any

# RFC 9553 §1.7.1: v-extension = v-prefix ":" v-name
_LABEL = (
    r"[A-Za-z0-9\u0080-\U0010ffff](?:[A-Za-z0-9\u0080-\U0010ffff-]*[A-Za-z0-9\u0080-\U0010ffff])?"
)
_VENDOR_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*:[^\x00-\x1f\x7f\"]+$")
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_UTC_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d*[1-9])?Z$")
_VERSION_RE = re.compile(r"^\d+\.\d+$")
MAX_INT = 2**53 - 1

VERSIONS = ("1.0", "2.0")
JMAP_PROPERTIES = frozenset({"id", "addressBookIds"})

Check = Callable[[Any, str, list[str]], None]


def is_vendor(name: Any) -> bool:
    """A vendor-specific name or value (``example.com:foo``, RFC 9553 §1.7.1)."""
    return isinstance(name, str) and bool(_VENDOR_RE.match(name))


def _join(path: str, key: Any) -> str:
    key = str(key).replace("~", "~0").replace("/", "~1")
    return f"{path}/{key}" if path else key


# -- primitive checks --------------------------------------------------------------


def _string(value: Any, path: str, errors: list[str]) -> None:
    if not isinstance(value, str):
        errors.append(path)


def _nonempty_string(value: Any, path: str, errors: list[str]) -> None:
    if not isinstance(value, str) or not value:
        errors.append(path)


def _boolean(value: Any, path: str, errors: list[str]) -> None:
    if not isinstance(value, bool):
        errors.append(path)


def _unsigned(value: Any, path: str, errors: list[str]) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        errors.append(path)


def _positive(value: Any, path: str, errors: list[str]) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_INT:
        errors.append(path)


def _pref(value: Any, path: str, errors: list[str]) -> None:
    # RFC 9553 §1.5.4: 1 (most preferred) to 100 (least).
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        errors.append(path)


def _id(value: Any, path: str, errors: list[str]) -> None:
    if not isinstance(value, str) or not _ID_RE.match(value):
        errors.append(path)


def _utc(value: Any, path: str, errors: list[str]) -> None:
    if not isinstance(value, str) or not _UTC_RE.match(value):
        errors.append(path)
        return
    month, day = int(value[5:7]), int(value[8:10])
    hour, minute, second = int(value[11:13]), int(value[14:16]), int(value[17:19])
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        errors.append(path)


def _enum(*values: str, vendor: bool = True) -> Check:
    allowed = frozenset(values)

    def check(value: Any, path: str, errors: list[str]) -> None:
        if not isinstance(value, str) or not (value in allowed or (vendor and is_vendor(value))):
            errors.append(path)

    return check


def _const(expected: str) -> Check:
    def check(value: Any, path: str, errors: list[str]) -> None:
        if value != expected:
            errors.append(path)

    return check


def _true_map(keys: Check | None = None) -> Check:
    """``String[Boolean]`` whose values MUST be ``true`` (contexts, keywords, ...)."""

    def check(value: Any, path: str, errors: list[str]) -> None:
        if not isinstance(value, dict):
            errors.append(path)
            return
        for key, flag in value.items():
            sub = _join(path, key)
            if flag is not True or not key:
                errors.append(sub)
            elif keys is not None:
                before = len(errors)
                keys(key, sub, errors)
                del errors[before + 1 :]

    return check


def _string_map(value: Any, path: str, errors: list[str]) -> None:
    if not isinstance(value, dict):
        errors.append(path)
        return
    for key, item in value.items():
        if not isinstance(item, str):
            errors.append(_join(path, key))


def _obj(type_name: str) -> Check:
    def check(value: Any, path: str, errors: list[str]) -> None:
        _validate_object(type_name, value, path, errors)

    return check


def _id_map(type_name: str) -> Check:
    """``Id[T]``: keys are Ids, values objects of ``type_name``."""

    def check(value: Any, path: str, errors: list[str]) -> None:
        if not isinstance(value, dict):
            errors.append(path)
            return
        for key, item in value.items():
            sub = _join(path, key)
            if not _ID_RE.match(key):
                errors.append(sub)
            else:
                _validate_object(type_name, item, sub, errors)

    return check


def _string_keyed(type_name: str) -> Check:
    def check(value: Any, path: str, errors: list[str]) -> None:
        if not isinstance(value, dict):
            errors.append(path)
            return
        for key, item in value.items():
            sub = _join(path, key)
            if not key:
                errors.append(sub)
            else:
                _validate_object(type_name, item, sub, errors)

    return check


def _list_of(type_name: str) -> Check:
    def check(value: Any, path: str, errors: list[str]) -> None:
        if not isinstance(value, list):
            errors.append(path)
            return
        for index, item in enumerate(value):
            _validate_object(type_name, item, _join(path, index), errors)

    return check


def _date(value: Any, path: str, errors: list[str]) -> None:
    """Anniversary ``date``: PartialDate or Timestamp (RFC 9553 §2.8.1)."""
    kind = value.get("@type") if isinstance(value, dict) else None
    _validate_object("Timestamp" if kind == "Timestamp" else "PartialDate", value, path, errors)


# -- the schema --------------------------------------------------------------------

CONTEXTS = _true_map(_enum("private", "work"))
ADDRESS_CONTEXTS = _true_map(_enum("private", "work", "billing", "delivery"))
NAME_KINDS = (
    "title", "given", "given2", "surname", "surname2", "credential", "generation", "separator",
)  # fmt: skip
ADDRESS_KINDS = (
    "room", "apartment", "floor", "building", "number", "name", "block", "subdistrict",
    "district", "locality", "region", "postcode", "country", "direction", "landmark",
    "postOfficeBox", "separator",
)  # fmt: skip
PHONE_FEATURES = ("mobile", "voice", "text", "video", "main-number", "textphone", "fax", "pager")
RELATION_TYPES = (
    "acquaintance", "agent", "child", "co-resident", "co-worker", "colleague", "contact",
    "crush", "date", "emergency", "friend", "kin", "me", "met", "muse", "neighbor", "parent",
    "sibling", "spouse", "sweetheart",
)  # fmt: skip
CARD_KINDS = ("individual", "group", "org", "location", "device", "application")


def _sort_as(value: Any, path: str, errors: list[str]) -> None:
    # Name sortAs: String[String] keyed by name component kinds (RFC 9553 §2.2.1.2).
    if not isinstance(value, dict):
        errors.append(path)
        return
    for key, item in value.items():
        if (
            key == "separator"
            or not (key in NAME_KINDS or is_vendor(key))
            or not isinstance(item, str)
        ):
            errors.append(_join(path, key))


def _resource(**extra: Check) -> dict[str, Check]:
    """Members every Resource has (RFC 9553 §1.4.4), plus a type's own."""
    return {
        "uri": _nonempty_string, "mediaType": _string, "contexts": CONTEXTS, "pref": _pref,
        "label": _string, **extra,
    }  # fmt: skip


# type name -> (members, mandatory members, "at least one of" groups)
SCHEMAS: dict[str, tuple[dict[str, Check], tuple[str, ...], tuple[tuple[str, ...], ...]]] = {
    "Name": (
        {
            "components": _list_of("NameComponent"),
            "isOrdered": _boolean,
            "defaultSeparator": _string,
            "full": _string,
            "sortAs": _sort_as,
            "phoneticScript": _string,
            "phoneticSystem": _enum("ipa", "jyut", "piny"),
        },
        (),
        (("components", "full"),),
    ),  # fmt: skip
    "NameComponent": (
        {"value": _string, "kind": _enum(*NAME_KINDS), "phonetic": _string},
        ("value", "kind"),
        (),
    ),
    "Nickname": ({"name": _nonempty_string, "contexts": CONTEXTS, "pref": _pref}, ("name",), ()),
    "Organization": (
        {"name": _string, "units": _list_of("OrgUnit"), "sortAs": _string, "contexts": CONTEXTS},
        (),
        (("name", "units"),),
    ),
    "OrgUnit": ({"name": _nonempty_string, "sortAs": _string}, ("name",), ()),
    "SpeakToAs": (
        {
            "grammaticalGender": _enum(
                "animate", "common", "feminine", "inanimate", "masculine", "neuter"
            ),
            "pronouns": _id_map("Pronouns"),
        },
        (),
        (("grammaticalGender", "pronouns"),),
    ),
    "Pronouns": (
        {"pronouns": _nonempty_string, "contexts": CONTEXTS, "pref": _pref},
        ("pronouns",),
        (),
    ),
    "Title": (
        {"name": _nonempty_string, "kind": _enum("title", "role"), "organizationId": _id},
        ("name",),
        (),
    ),
    "EmailAddress": (
        {"address": _nonempty_string, "contexts": CONTEXTS, "pref": _pref, "label": _string},
        ("address",),
        (),
    ),
    "OnlineService": (
        {
            "service": _string,
            "uri": _nonempty_string,
            "user": _string,
            "contexts": CONTEXTS,
            "pref": _pref,
            "label": _string,
            "vCardName": _string,
        },
        (),
        (("uri", "user"),),
    ),  # fmt: skip
    "Phone": (
        {
            "number": _nonempty_string,
            "features": _true_map(_enum(*PHONE_FEATURES)),
            "contexts": CONTEXTS,
            "pref": _pref,
            "label": _string,
        },
        ("number",),
        (),
    ),  # fmt: skip
    "LanguagePref": (
        {"language": _nonempty_string, "contexts": CONTEXTS, "pref": _pref},
        ("language",),
        (),
    ),
    "Calendar": (_resource(kind=_enum("calendar", "freeBusy")), ("uri",), ()),
    "SchedulingAddress": (
        {"uri": _nonempty_string, "contexts": CONTEXTS, "pref": _pref, "label": _string},
        ("uri",),
        (),
    ),
    "Address": (
        {
            "components": _list_of("AddressComponent"),
            "isOrdered": _boolean,
            "countryCode": _string,
            "coordinates": _string,
            "timeZone": _string,
            "contexts": ADDRESS_CONTEXTS,
            "full": _string,
            "defaultSeparator": _string,
            "pref": _pref,
            "phoneticScript": _string,
            "phoneticSystem": _enum("ipa", "jyut", "piny"),
        },
        (),
        (("components", "full", "coordinates", "countryCode", "timeZone"),),
    ),  # fmt: skip
    "AddressComponent": (
        {"value": _string, "kind": _enum(*ADDRESS_KINDS), "phonetic": _string},
        ("value", "kind"),
        (),
    ),
    "CryptoKey": (_resource(kind=_string), ("uri",), ()),
    "Directory": (
        _resource(kind=_enum("directory", "entry"), listAs=_positive),
        ("uri",),
        (),
    ),
    "Link": (_resource(kind=_enum("contact")), ("uri",), ()),
    "Media": (_resource(kind=_enum("photo", "sound", "logo")), ("kind", "uri"), ()),
    "Anniversary": (
        {"kind": _enum("birth", "death", "wedding"), "date": _date, "place": _obj("Address")},
        ("kind", "date"),
        (),
    ),
    "PartialDate": (
        {"year": _positive, "month": _positive, "day": _positive, "calendarScale": _string},
        (),
        (("year", "month", "day"),),
    ),
    "Timestamp": ({"utc": _utc}, ("utc",), ()),
    "Note": ({"note": _nonempty_string, "created": _utc, "author": _obj("Author")}, ("note",), ()),
    "Author": ({"name": _string, "uri": _nonempty_string}, (), (("name", "uri"),)),
    "PersonalInfo": (
        {
            "kind": _enum("expertise", "hobby", "interest"),
            "value": _nonempty_string,
            "level": _enum("high", "medium", "low"),
            "listAs": _positive,
            "label": _string,
        },
        ("kind", "value"),
        (),
    ),  # fmt: skip
    "Relation": ({"relation": _true_map(_enum(*RELATION_TYPES))}, (), ()),
}

CARD_MEMBERS: dict[str, Check] = {
    "version": _enum(*VERSIONS, vendor=False),
    "created": _utc,
    "kind": _enum(*CARD_KINDS),
    "language": _nonempty_string,
    "members": _true_map(),
    "prodId": _string,
    "relatedTo": _string_keyed("Relation"),
    "uid": _nonempty_string,
    "updated": _utc,
    "name": _obj("Name"),
    "nicknames": _id_map("Nickname"),
    "organizations": _id_map("Organization"),
    "speakToAs": _obj("SpeakToAs"),
    "titles": _id_map("Title"),
    "emails": _id_map("EmailAddress"),
    "onlineServices": _id_map("OnlineService"),
    "phones": _id_map("Phone"),
    "preferredLanguages": _id_map("LanguagePref"),
    "calendars": _id_map("Calendar"),
    "schedulingAddresses": _id_map("SchedulingAddress"),
    "addresses": _id_map("Address"),
    "cryptoKeys": _id_map("CryptoKey"),
    "directories": _id_map("Directory"),
    "links": _id_map("Link"),
    "media": _id_map("Media"),
    "anniversaries": _id_map("Anniversary"),
    "keywords": _true_map(),
    "notes": _id_map("Note"),
    "personalInfo": _id_map("PersonalInfo"),
    # RFC 9555 §3: the vCard properties JSContact cannot express.
    "vCardProps": lambda value, path, errors: _vcard_props(value, path, errors),
}


def _vcard_props(value: Any, path: str, errors: list[str]) -> None:
    # RFC 9555 §3.3.1.1: each entry is a jCard property array [name, params, type, value...].
    if not isinstance(value, list):
        errors.append(path)
        return
    for index, item in enumerate(value):
        ok = (
            isinstance(item, list)
            and len(item) >= 4
            and isinstance(item[0], str)
            and isinstance(item[1], dict)
            and isinstance(item[2], str)
        )
        if not ok:
            errors.append(_join(path, index))


def _validate_object(type_name: str, value: Any, path: str, errors: list[str]) -> None:
    if not isinstance(value, dict):
        errors.append(path)
        return
    members, mandatory, one_of = SCHEMAS[type_name]
    for key, item in value.items():
        sub = _join(path, key)
        if key == "@type":
            if item != type_name:
                errors.append(sub)
        elif key == "vCardParams":
            _vcard_params(item, sub, errors)
        elif key in members:
            members[key](item, sub, errors)
        elif not isinstance(key, str) or not key:
            errors.append(sub)
        # unknown and vendor members are preserved as they are
    for key in mandatory:
        if key not in value:
            errors.append(_join(path, key))
    for group in one_of:
        if not any(key in value for key in group):
            errors.append(path)
            break


def _vcard_params(value: Any, path: str, errors: list[str]) -> None:
    # RFC 9555 §3.3.1.2: String[String|String[]] of vCard parameters.
    if not isinstance(value, dict):
        errors.append(path)
        return
    for key, item in value.items():
        if isinstance(item, str):
            continue
        if isinstance(item, list) and all(isinstance(v, str) for v in item):
            continue
        errors.append(_join(path, key))


# -- patches -----------------------------------------------------------------------


class PatchError(ValueError):
    """A PatchObject key that cannot be applied; ``.key`` is the offending key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _split_pointer(key: str) -> list[str]:
    return [part.replace("~1", "/").replace("~0", "~") for part in key.split("/")]


def _step(node: Any, part: str, key: str) -> Any:
    if isinstance(node, dict) and part in node:
        return node[part]
    # RFC 9553 §2.7.1's own example patches name/components/0/phonetic: JSContact
    # patches may step into an existing array element, unlike RFC 8620's.
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    raise PatchError(key, f"{part} does not exist")


def apply_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``target`` with the PatchObject applied (RFC 8620 §5.3 semantics).

    ``null`` removes; every parent of a path must exist (an object, or an
    existing element of an array, which JSContact's examples use). The
    first key that cannot be applied raises :class:`PatchError`.
    """
    result = copy.deepcopy(target)
    for key, value in patch.items():
        if not isinstance(key, str) or not key or key.startswith("/"):
            raise PatchError(str(key), "empty or absolute pointer")
        parts = _split_pointer(key)
        node: Any = result
        for part in parts[:-1]:
            node = _step(node, part, key)
        if not isinstance(node, dict):
            raise PatchError(key, "parent is not an object")
        if value is None:
            node.pop(parts[-1], None)
        else:
            node[parts[-1]] = copy.deepcopy(value)
    return result


def _localizations(card: dict[str, Any], value: Any, path: str, errors: list[str]) -> None:
    """Each language's patch is applied and the card it produces validated.

    Errors come back under the patch key that introduced them
    (``localizations/uk/name/components``), since that is what the client wrote.
    """
    if not isinstance(value, dict):
        errors.append(path)
        return
    base = {k: v for k, v in card.items() if k != "localizations"}
    base_errors = set(_card_errors(base, mandatory_uid=False))
    for lang, patch in value.items():
        lang_path = _join(path, lang)
        if not lang or not isinstance(patch, dict):
            errors.append(lang_path)
            continue
        if any(key in ("localizations", "@type", "version", "uid") for key in patch):
            errors.extend(
                _join(lang_path, k)
                for k in patch
                if k in ("localizations", "@type", "version", "uid")
            )
            continue
        try:
            patched = apply_patch(base, patch)
        except PatchError as exc:
            errors.append(f"{lang_path}/{exc.key}")
            continue
        for bad in _card_errors(patched, mandatory_uid=False):
            if bad in base_errors:
                continue
            owner = _owning_key(bad, patch)
            errors.append(f"{lang_path}/{owner}" if owner else lang_path)


def _owning_key(bad: str, patch: Iterable[str]) -> str | None:
    best = None
    for key in patch:
        if bad == key or bad.startswith(key + "/"):
            if best is None or len(key) > len(best):
                best = key
    if best is None:
        # a removal left a mandatory member missing: the parent is what was patched
        for key in patch:
            if key.startswith(bad + "/") or bad.startswith(key.rsplit("/", 1)[0] + "/"):
                return key
    return best


def _card_errors(card: dict[str, Any], *, mandatory_uid: bool) -> list[str]:
    errors: list[str] = []
    for key, value in card.items():
        if key == "@type":
            if value != "Card":
                errors.append("@type")
        elif key == "localizations":
            _localizations(card, value, key, errors)
        elif key in CARD_MEMBERS:
            CARD_MEMBERS[key](value, key, errors)
        elif not isinstance(key, str) or not key:
            errors.append(str(key))
    if "@type" not in card:
        errors.append("@type")
    if "version" not in card:
        errors.append("version")
    if mandatory_uid and card.get("version") == "1.0" and "uid" not in card:
        errors.append("uid")  # RFC 9982 §3: optional from 2.0 on
    return errors


def validate_card(card: Any, *, extra: Iterable[str] = JMAP_PROPERTIES) -> list[str]:
    """Every invalid property path of a JSContact Card (empty list = valid).

    ``extra`` names top-level properties the caller handles itself (the JMAP
    ``id`` and ``addressBookIds``); they are skipped here. Paths use JSON
    pointer escaping for keys holding ``/`` or ``~``. Duplicates are removed,
    order is document order.
    """
    if not isinstance(card, dict):
        return [""]
    skip = frozenset(extra)
    errors = _card_errors({k: v for k, v in card.items() if k not in skip}, mandatory_uid=True)
    seen: dict[str, None] = {}
    for path in errors:
        seen.setdefault(path, None)
    return list(seen)
