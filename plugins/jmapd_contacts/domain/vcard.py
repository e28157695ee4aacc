"""vCard 3.0/4.0 (and 2.1 leftovers) <-> JSContact Card, after RFC 9555.

Reading goes through vobject (folding, quoted-printable, base64); writing is
our own content-line serialiser so the output is vCard 4.0 as RFC 9555 maps
it, folded at 75 octets. What JSContact cannot express is kept: unknown
properties go to ``vCardProps`` (jCard arrays, RFC 9555 §3.3.1.1), unknown
parameters and the property group to ``vCardParams`` on the object they
belong to (§3.3.1.2), so import -> export -> import gives the same card.

Public API:

- :func:`parse_vcards` — text with any number of vCards -> :class:`ParseResult`
  (cards, plus one :class:`CardError` with line and reason per malformed card;
  the others are still read).
- :func:`to_vcard` — one Card -> vCard 4.0 text; :func:`to_vcards` — many.
"""

from __future__ import annotations

import base64
import io
import quopri
import re
from dataclasses import dataclass, field
from typing import Any

import vobject

from .validate import validate_card

_PROP_ID = "\x00prop-id"
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_BEGIN_RE = re.compile(r"^BEGIN:VCARD\s*$", re.I)
_END_RE = re.compile(r"^END:VCARD\s*$", re.I)


@dataclass(frozen=True, slots=True)
class CardError:
    """A vCard that could not be read: its first line (1-based) and why."""

    line: int
    reason: str


@dataclass(slots=True)
class ParseResult:
    cards: list[dict[str, Any]] = field(default_factory=list)
    errors: list[CardError] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # first line of each card


# -- text helpers ------------------------------------------------------------------


def _split_structured(raw: str) -> list[str]:
    """Split on unescaped ``;`` and unescape each part (N, ADR, ORG values)."""
    parts, buf, i = [], [], 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            buf.append(raw[i : i + 2])
            i += 2
            continue
        if ch == ";":
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    parts.append("".join(buf))
    return [_unescape(p) for p in parts]


def _unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _list_values(part: str) -> list[str]:
    """A structured component's comma-separated values (RFC 6350 §5.5)."""
    out, buf, i = [], [], 0
    while i < len(part):
        if part[i] == "\\" and i + 1 < len(part):
            buf.append(part[i : i + 2])
            i += 2
            continue
        if part[i] == ",":
            out.append(_unescape("".join(buf)))
            buf = []
        else:
            buf.append(part[i])
        i += 1
    out.append(_unescape("".join(buf)))
    return [v for v in out if v]


def _raw_components(raw: str) -> list[str]:
    parts, buf, i = [], [], 0
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw):
            buf.append(raw[i : i + 2])
            i += 2
            continue
        if raw[i] == ";":
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(raw[i])
        i += 1
    parts.append("".join(buf))
    return parts


# -- reading -----------------------------------------------------------------------


def _chunks(text: str) -> list[tuple[int, str]]:
    chunks: list[tuple[int, str]] = []
    start, buf = None, []
    for number, line in enumerate(text.splitlines(), 1):
        if start is None:
            if _BEGIN_RE.match(line):
                start, buf = number, [line]
            continue
        buf.append(line)
        if _END_RE.match(line):
            chunks.append((start, "\r\n".join(buf) + "\r\n"))
            start, buf = None, []
    if start is not None:
        chunks.append((start, "\r\n".join(buf) + "\r\n"))
    return chunks


class _Line:
    """One logical content line, decoded only as far as its transfer encoding."""

    __slots__ = ("name", "params", "value", "group", "number")

    def __init__(
        self,
        name: str,
        params: dict[str, list[str]],
        value: str | bytes,
        group: str | None,
        number: int,
    ):
        self.name, self.params, self.value, self.group, self.number = (
            name,
            params,
            value,
            group,
            number,
        )


def _lines(chunk: str, first: int) -> list[_Line]:
    """Unfold (vobject) and split each line; 2.1 QP and base64 decoded, escapes kept.

    vobject's own value decoding is not used: its text behaviour keeps only
    the first of comma-separated values (``NOTE:a,b`` -> ``a``; a ``data:``
    URI cut at its comma), which would lose what clients wrote.
    """
    out = []
    for text, number in vobject.base.getLogicalLines(io.StringIO(chunk), allowQP=True):
        where = first + (number or 1) - 1
        try:
            name, plist, value, group = vobject.base.parseLine(text, where)
        except vobject.base.ParseError as exc:
            raise _LineError(where, f"cannot parse {text[:40]!r}") from exc
        params: dict[str, list[str]] = {}
        for item in plist:
            key, values = item[0].lower(), [v for v in item[1:] if v is not None]
            if not values:  # vCard 2.1 bare parameter: TEL;WORK;VOICE
                key, values = (
                    ("encoding", [key])
                    if key in ("quoted-printable", "base64")
                    else ("type", [key])
                )
            params.setdefault(key, []).extend(values)
        encoding = [e.lower() for e in params.get("encoding", [])]
        decoded: str | bytes = value
        if "quoted-printable" in encoding:
            charset = (params.get("charset") or ["utf-8"])[0]
            try:
                decoded = quopri.decodestring(value.encode("latin-1", "replace")).decode(
                    charset, "replace"
                )
            except LookupError as exc:
                raise _LineError(where, f"unknown charset {charset}") from exc
            decoded = _escape_lines(decoded)
        elif "b" in encoding or "base64" in encoding:
            try:
                decoded = base64.b64decode("".join(value.split()), validate=True)
            except ValueError as exc:
                raise _LineError(where, f"bad base64 in {name}") from exc
        out.append(_Line(name.upper(), params, decoded, group, where))
    return out


def _escape_lines(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\r\n", "\\n").replace("\n", "\\n")


class _LineError(ValueError):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line


def parse_vcards(text: str) -> ParseResult:
    """Every vCard in ``text``; a malformed one is reported, the rest still read."""
    result = ParseResult()
    for start, chunk in _chunks(text):
        if not _END_RE.match(chunk.rstrip().rsplit("\r\n", 1)[-1]):
            result.errors.append(CardError(start, "END:VCARD missing"))
            continue
        try:
            card = _to_card(_lines(chunk, start))
        except _LineError as exc:
            result.errors.append(CardError(exc.line, str(exc)))
            continue
        problems = validate_card(card)
        if problems:
            result.errors.append(CardError(start, "invalid " + ", ".join(problems)))
            continue
        result.cards.append(card)
        result.lines.append(start)
    return result


_CONTEXT_IN = {"work": "work", "home": "private"}
_CONTEXT_OUT = {"work": "work", "private": "home"}
_PHONE_FEATURES_IN = {
    "cell": "mobile", "voice": "voice", "text": "text", "video": "video", "fax": "fax",
    "pager": "pager", "textphone": "textphone", "main-number": "main-number",
}  # fmt: skip
_PHONE_FEATURES_OUT = {v: k for k, v in _PHONE_FEATURES_IN.items()}
_ADR_KINDS = ("postOfficeBox", "apartment", "name", "locality", "region", "postcode", "country")
# RFC 9554 §2.2 components 7-17 of ADR
_ADR_NEW = (
    "room", "apartment", "floor", "number", "name", "building", "block", "subdistrict",
    "district", "landmark", "direction",
)  # fmt: skip
_N_KINDS = ("surname", "given", "given2", "title", "credential", "surname2", "generation")


class _Reader:
    """Collects one Card while walking a vCard's lines."""

    def __init__(self) -> None:
        self.card: dict[str, Any] = {"@type": "Card", "version": "2.0"}
        self.counters: dict[str, int] = {}
        self.unknown: list[list[Any]] = []
        self.places: list[tuple[str, str, Any, dict[str, list[str]]]] = []

    def new_id(self, prop: str, prefix: str) -> str:
        self.counters[prop] = self.counters.get(prop, 0) + 1
        return f"{prefix}{self.counters[prop]}"

    def add(self, prop: str, prefix: str, obj: dict[str, Any]) -> None:
        entries = self.card.setdefault(prop, {})
        wanted = obj.pop(_PROP_ID, None)  # RFC 9555 §2.3.4: PROP-ID is the id
        key = wanted if wanted and _ID_RE.match(wanted) and wanted not in entries else None
        while key is None or key in entries:
            key = self.new_id(prop, prefix)
        entries[key] = obj


def _params(line: _Line) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, values in line.params.items():
        flat: list[str] = []
        for v in values:
            flat.extend(x for x in str(v).split(",") if x)
        out[key] = flat
    return out


def _take_common(
    obj: dict[str, Any], params: dict[str, list[str]], line: Any, *, contexts: bool = True
) -> None:
    """Map TYPE/PREF/LABEL; everything else (and the group) into vCardParams."""
    types = [t.lower() for t in params.pop("type", [])]
    rest_types = []
    ctx: dict[str, bool] = {}
    for t in types:
        if contexts and t in _CONTEXT_IN:
            ctx[_CONTEXT_IN[t]] = True
        elif t == "pref":
            obj.setdefault("pref", 1)
        else:
            rest_types.append(t)
    if ctx:
        obj["contexts"] = ctx
    pref = params.pop("pref", None)
    if pref and pref[0].isdigit() and 1 <= int(pref[0]) <= 100:
        obj["pref"] = int(pref[0])
    elif pref:
        params["pref"] = pref
    label = params.pop("label", None)
    if label and "label" not in obj:
        obj["label"] = label[0]
    media = params.pop("mediatype", None)
    if media and "uri" in obj:
        obj["mediaType"] = media[0]
    prop_id = params.pop("prop-id", None)
    if prop_id:
        obj[_PROP_ID] = prop_id[0]
    index = params.pop("index", None)
    if index and index[0].isdigit() and int(index[0]) > 0 and obj.get("@listAs"):
        obj["listAs"] = int(index[0])
    elif index:
        params["index"] = index
    obj.pop("@listAs", None)
    if rest_types:
        params["type"] = rest_types
    params.pop("value", None)
    params.pop("encoding", None)
    params.pop("charset", None)
    extra = {k: (v[0] if len(v) == 1 else v) for k, v in params.items()}
    if line.group:
        extra["group"] = line.group
    if extra:
        obj["vCardParams"] = extra


def _text(value: str | bytes) -> str:
    """A TEXT value, unescaped (commas kept: one value, not a list)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return _unescape(value)


def _raw(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _uri_value(line: Any, params: dict[str, list[str]]) -> str:
    value = line.value
    if isinstance(value, bytes):
        media = (params.pop("type", ["octet-stream"]) or ["octet-stream"])[0].lower()
        media = media if "/" in media else f"image/{media}"
        return f"data:{media};base64," + base64.b64encode(value).decode()
    return _raw(value)


def _date(value: str) -> dict[str, Any] | None:
    v = value.strip()
    m = re.match(r"^(\d{4}|--)-?(\d{2}|-)?-?(\d{2})?$", v)
    if m and "T" not in v:
        out: dict[str, Any] = {}
        if m.group(1) != "--":
            out["year"] = int(m.group(1))
        if m.group(2) and m.group(2) != "-":
            out["month"] = int(m.group(2))
        if m.group(3):
            out["day"] = int(m.group(3))
        return out or None
    m = re.match(r"^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})Z$", v)
    if m:
        y, mo, d, h, mi, s = m.groups()
        return {"@type": "Timestamp", "utc": f"{y}-{mo}-{d}T{h}:{mi}:{s}Z"}
    return None


def _to_card(lines: list[_Line]) -> dict[str, Any]:
    r = _Reader()
    card = r.card
    name: dict[str, Any] = {}
    for line in lines:
        prop = line.name
        params = _params(line)
        value = line.value
        if prop in ("BEGIN", "END"):
            continue
        if prop == "VERSION":
            continue
        if prop == "UID":
            card["uid"] = _text(value)
        elif prop == "KIND" or prop == "X-ADDRESSBOOKSERVER-KIND":
            card["kind"] = _text(value).lower()
        elif prop == "FN" and "full" not in name:
            # an empty or DERIVED=TRUE FN was made from N by the writer (RFC 9555 §2.5.1)
            if _text(value) and (params.get("derived") or [""])[0].lower() != "true":
                name["full"] = _text(value)
        elif prop == "N" and "components" not in name:
            parts = _raw_components(_raw(value))
            comps = []
            generation = set(_list_values(parts[6])) if len(parts) > 6 else set()
            for kind, part in zip(_N_KINDS, parts, strict=False):
                for v in _list_values(part):
                    # RFC 9554: suffixes repeat the generation for old readers
                    if not (kind == "credential" and v in generation):
                        comps.append({"kind": kind, "value": v})
            if comps:
                name["components"] = comps
            sort = params.pop("sort-as", None)
            if sort:
                name["sortAs"] = dict(zip(("surname", "given"), sort, strict=False))
        elif prop == "NICKNAME":
            for nick in _list_values(_raw(value)):
                if nick:
                    obj: dict[str, Any] = {"name": nick}
                    _take_common(obj, dict(params), line)
                    r.add("nicknames", "n", obj)
        elif prop == "ORG":
            parts = _split_structured(_raw(value))
            obj = {"name": parts[0]} if parts[0] else {}
            if any(parts[1:]):
                obj["units"] = [{"name": p} for p in parts[1:] if p]
            sort = params.pop("sort-as", None)
            if sort:
                obj["sortAs"] = sort[0]
            if obj:
                _take_common(obj, params, line)
                r.add("organizations", "o", obj)
        elif prop in ("TITLE", "ROLE"):
            obj = {"name": _text(value), "kind": prop.lower()}
            _take_common(obj, params, line, contexts=False)
            r.add("titles", "t", obj)
        elif prop == "EMAIL":
            obj = {"address": _text(value)}
            params["type"] = [t for t in params.get("type", []) if t.lower() != "internet"]
            _take_common(obj, params, line)
            r.add("emails", "e", obj)
        elif prop == "TEL":
            number = _text(value)
            obj = {"number": number}
            types = params.pop("type", [])
            features = {
                _PHONE_FEATURES_IN[t.lower()]: True
                for t in types
                if t.lower() in _PHONE_FEATURES_IN
            }
            if features:
                obj["features"] = features
            params["type"] = [t for t in types if t.lower() not in _PHONE_FEATURES_IN]
            _take_common(obj, params, line)
            r.add("phones", "p", obj)
        elif prop == "ADR":
            parts = _raw_components(_raw(value)) + [""] * 18
            comps = []
            new = [
                (kind, v)
                for kind, part in zip(_ADR_NEW, parts[7:18], strict=True)
                for v in _list_values(part)
            ]
            if not new:  # the street address counts only without the new components
                comps.extend({"kind": "name", "value": v} for v in _list_values(parts[2]))
            comps.extend({"kind": k, "value": v} for k, v in new)
            for kind, part in zip(_ADR_KINDS[:2], parts[:2], strict=True):
                comps.extend({"kind": kind, "value": v} for v in _list_values(part))
            for kind, part in zip(_ADR_KINDS[3:], parts[3:7], strict=True):
                comps.extend({"kind": kind, "value": v} for v in _list_values(part))
            obj = {"components": comps} if comps else {}
            label = params.pop("label", None)
            if label:
                obj["full"] = label[0]
            for key, target in (("cc", "countryCode"), ("geo", "coordinates"), ("tz", "timeZone")):
                got = params.pop(key, None)
                if got:
                    obj[target] = got[0]
            if not obj:
                obj["components"] = []
                obj["full"] = ""
            _take_common(obj, params, line)
            r.add("addresses", "a", obj)
        elif prop == "URL":
            obj = {"uri": _raw(value)}
            _take_common(obj, params, line)
            r.add("links", "l", obj)
        elif prop in ("IMPP", "SOCIALPROFILE", "X-SOCIALPROFILE"):
            obj = {"uri": _raw(value)}
            service = params.pop("service-type", None) or params.pop("x-service-type", None)
            if service:
                obj["service"] = service[0]
            if prop != "SOCIALPROFILE":
                obj["vCardName"] = prop.lower()
            _take_common(obj, params, line)
            r.add("onlineServices", "s", obj)
        elif prop == "NOTE":
            obj = {"note": _text(value)}
            created = _date(params.pop("created", [""])[0])
            if created and "utc" in created:
                obj["created"] = created["utc"]
            author = {}
            if params.get("author-name"):
                author["name"] = params.pop("author-name")[0]
            if params.get("author"):
                author["uri"] = params.pop("author")[0]
            if author:
                obj["author"] = author
            _take_common(obj, params, line, contexts=False)
            r.add("notes", "n", obj)
        elif prop in ("BDAY", "ANNIVERSARY", "DEATHDATE") and _date(_text(value)):
            kind = {"BDAY": "birth", "ANNIVERSARY": "wedding", "DEATHDATE": "death"}[prop]
            obj = {"kind": kind, "date": _date(_text(value))}
            _take_common(obj, params, line, contexts=False)
            r.add("anniversaries", "k", obj)
        elif prop in ("PHOTO", "LOGO", "SOUND"):
            obj = {"kind": prop.lower(), "uri": _uri_value(line, params)}
            _take_common(obj, params, line)
            r.add("media", "m", obj)
        elif prop == "KEY":
            obj = {"uri": _uri_value(line, params)}
            _take_common(obj, params, line)
            r.add("cryptoKeys", "k", obj)
        elif prop == "CATEGORIES":
            for word in _list_values(_raw(value)):
                if word:
                    card.setdefault("keywords", {})[word] = True
        elif prop == "REV" and _date(_text(value)) and "utc" in (_date(_text(value)) or {}):
            card["updated"] = _date(_text(value))["utc"]  # type: ignore[index]
        elif prop == "MEMBER":
            card.setdefault("members", {})[_raw(value)] = True
        elif prop == "RELATED":
            types = [t.lower() for t in params.get("type", [])]
            card.setdefault("relatedTo", {})[_raw(value)] = {"relation": {t: True for t in types}}
        elif prop == "LANG":
            obj = {"language": _text(value)}
            _take_common(obj, params, line)
            r.add("preferredLanguages", "l", obj)
        elif prop in ("CALURI", "FBURL"):
            obj = {"uri": _raw(value), "kind": "calendar" if prop == "CALURI" else "freeBusy"}
            _take_common(obj, params, line)
            r.add("calendars", "c", obj)
        elif prop == "CALADRURI":
            obj = {"uri": _raw(value)}
            _take_common(obj, params, line)
            r.add("schedulingAddresses", "s", obj)
        elif prop == "PRODID":
            card["prodId"] = _text(value)
        elif prop in ("BIRTHPLACE", "DEATHPLACE") and not params.get("value"):
            r.places.append(
                (("birth" if prop == "BIRTHPLACE" else "death"), _text(value), line, params)
            )
        elif prop == "CREATED" and "utc" in (_date(_raw(value)) or {}):
            card["created"] = _date(_raw(value))["utc"]  # type: ignore[index]
        elif prop == "LANGUAGE":
            card["language"] = _raw(value)
        elif prop == "GRAMGENDER":
            card.setdefault("speakToAs", {})["grammaticalGender"] = _raw(value).lower()
        elif prop == "PRONOUNS":
            obj = {"pronouns": _text(value)}
            _take_common(obj, params, line)
            speak = card.setdefault("speakToAs", {})
            holder = _Reader()
            holder.card = speak
            holder.counters = r.counters
            holder.add("pronouns", "PRONOUNS-", obj)
        elif prop in ("EXPERTISE", "HOBBY", "INTEREST"):
            obj = {"kind": prop.lower(), "value": _text(value), "@listAs": True}
            level = (params.pop("level", [""]) or [""])[0].lower()
            level = {"beginner": "low", "average": "medium", "expert": "high"}.get(level, level)
            if level in ("low", "medium", "high"):
                obj["level"] = level
            _take_common(obj, params, line, contexts=False)
            r.add("personalInfo", "PERSINFO-", obj)
        elif prop in ("ORG-DIRECTORY", "SOURCE"):
            obj = {"kind": "directory" if prop == "ORG-DIRECTORY" else "entry", "uri": _raw(value)}
            obj["@listAs"] = True
            _take_common(obj, params, line)
            r.add("directories", "DIRECTORY-", obj)
        elif prop == "CONTACT-URI":
            obj = {"kind": "contact", "uri": _raw(value)}
            _take_common(obj, params, line)
            r.add("links", "CONTACT-", obj)
        else:
            # RFC 9555 §3.3.1.1: kept as a jCard property
            jparams: dict[str, Any] = {k: (v[0] if len(v) == 1 else v) for k, v in params.items()}
            if line.group:
                jparams["group"] = line.group
            jparams.pop("charset", None)
            enc = [e.lower() for e in params.get("encoding", [])]
            if "quoted-printable" in enc:
                jparams.pop("encoding", None)
            raw = value
            if isinstance(raw, bytes):
                raw = base64.b64encode(raw).decode()
                jparams["encoding"] = "b"
            # the value stays as written (escapes included): only its writer knows its structure
            r.unknown.append([prop.lower(), jparams, "unknown", raw])
    if name:
        card["name"] = name
    _apply_ablabels(card, r.unknown)
    _apply_places(card, r)
    _apply_org_groups(card)
    if r.unknown:
        card["vCardProps"] = r.unknown
    return card


def _apply_places(card: dict[str, Any], r: _Reader) -> None:
    """BIRTHPLACE/DEATHPLACE become the ``place`` of that anniversary (RFC 9555 §2.3.2)."""
    for kind, text, line, params in r.places:
        target = next(
            (
                a
                for a in (card.get("anniversaries") or {}).values()
                if a["kind"] == kind and "place" not in a
            ),
            None,
        )
        if target is None:  # no date to hang it on: kept as written
            jparams: dict[str, Any] = {k: (v[0] if len(v) == 1 else v) for k, v in params.items()}
            if line.group:
                jparams["group"] = line.group
            r.unknown.append([line.name.lower(), jparams, "unknown", _raw(line.value)])
        else:
            target["place"] = {"full": text}


def _apply_org_groups(card: dict[str, Any]) -> None:
    """A TITLE/ROLE grouped with an ORG names it as ``organizationId`` (RFC 9555 §2.6.5)."""
    orgs = {
        (o.get("vCardParams") or {}).get("group"): key
        for key, o in (card.get("organizations") or {}).items()
    }
    orgs.pop(None, None)
    linked = set()
    for title in (card.get("titles") or {}).values():
        group = (title.get("vCardParams") or {}).get("group")
        if group in orgs:
            title["organizationId"] = orgs[group]
            linked.add(orgs[group])
            _drop_group(title)
    for key in linked:
        _drop_group(card["organizations"][key])


def _drop_group(obj: dict[str, Any]) -> None:
    del obj["vCardParams"]["group"]
    if not obj["vCardParams"]:
        del obj["vCardParams"]


_LABELLED = (
    "emails",
    "phones",
    "onlineServices",
    "links",
    "calendars",
    "schedulingAddresses",
    "cryptoKeys",
    "media",
)


def _apply_ablabels(card: dict[str, Any], unknown: list[list[Any]]) -> None:
    """Apple's grouped ``X-ABLabel`` becomes the ``label`` of its property (RFC 9555 §3.3.2)."""
    by_group: dict[str, dict[str, Any]] = {}
    for prop in _LABELLED + ("addresses",):
        for obj in (card.get(prop) or {}).values():
            group = (obj.get("vCardParams") or {}).get("group")
            if group:
                by_group.setdefault(group, obj)
    keep = []
    for entry in unknown:
        group = entry[1].get("group")
        target = (
            by_group.pop(group, None)
            if entry[0] == "x-ablabel" and group and len(entry[1]) == 1
            else None
        )
        if target is None or "label" in target or target is card.get("addresses", {}).get(""):
            keep.append(entry)
            continue
        target["label"] = _unescape(entry[3])
        del target["vCardParams"]["group"]
        if not target["vCardParams"]:
            del target["vCardParams"]
    unknown[:] = keep


# -- writing -----------------------------------------------------------------------


def _fold(line: str) -> str:
    out: list[str] = []
    current = b""
    for ch in line:
        enc = ch.encode()
        if len(current) + len(enc) > (75 if not out else 74):
            out.append(current.decode())
            current = b""
        current += enc
    out.append(current.decode())
    return "\r\n ".join(out)


def _param_text(value: str) -> str:
    if re.search(r'[;:,"]', value) or value != value.strip():
        return '"' + value.replace('"', "'") + '"'
    return value


def _groups_in(value: Any) -> set[str]:
    """Every vCard group a card already uses, so generated ones do not collide."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "group" and isinstance(item, str):
                found.add(item)
            else:
                found |= _groups_in(item)
    elif isinstance(value, list):
        for item in value:
            found |= _groups_in(item)
    return found


def _line(
    name: str, value: str, params: dict[str, Any] | None = None, groups: list[Any] | None = None
) -> str:
    params = dict(params or {})
    group = params.pop("group", None)
    label = params.pop("label", None) if name != "ADR" else None
    if label is not None and groups is not None:
        # RFC 9555 §3.3.2: a label outside ADR goes out as Apple's grouped X-ABLabel
        while not group or group in groups[1]:
            groups[0] += 1
            group = f"item{groups[0]}"
        groups[1].add(group)
        return (
            _line(name, value, {**params, "group": group})
            + "\r\n"
            + _line("X-ABLabel", _escape(label), {"group": group})
        )
    head = f"{group}.{name}" if group else name
    for key, val in params.items():
        vals = val if isinstance(val, list) else [val]
        head += f";{key.upper()}=" + ",".join(_param_text(str(v)) for v in vals)
    return _fold(f"{head}:{value}")


def _common_params(obj: dict[str, Any], *, contexts: bool = True) -> dict[str, Any]:
    params: dict[str, Any] = {}
    extra = dict(obj.get("vCardParams") or {})
    types: list[str] = []
    if contexts:
        types.extend(_CONTEXT_OUT.get(c, c) for c in obj.get("contexts", {}))
    more = extra.pop("type", [])
    types.extend(more if isinstance(more, list) else [more])
    if types:
        params["type"] = types
    if "pref" in obj:
        params["pref"] = str(obj["pref"])
    if "label" in obj:
        params["label"] = obj["label"]
    if "mediaType" in obj:
        params["mediatype"] = obj["mediaType"]
    if "listAs" in obj:
        params["index"] = str(obj["listAs"])
    params.update(extra)
    return params


_ID_MAPS = (
    "nicknames", "organizations", "titles", "emails", "onlineServices", "phones",
    "preferredLanguages", "calendars", "schedulingAddresses", "addresses", "cryptoKeys",
    "directories", "links", "media", "anniversaries", "notes", "personalInfo",
)  # fmt: skip


def _with_prop_ids(card: dict[str, Any]) -> dict[str, Any]:
    """A copy whose Id-map entries carry their id as PROP-ID (RFC 9555 §2.3.4)."""
    out = dict(card)

    def tag(entries: dict[str, Any]) -> dict[str, Any]:
        return {
            key: {**obj, "vCardParams": {"prop-id": key, **(obj.get("vCardParams") or {})}}
            for key, obj in entries.items()
        }

    for prop in _ID_MAPS:
        if isinstance(out.get(prop), dict):
            out[prop] = tag(out[prop])
    speak = out.get("speakToAs")
    if isinstance(speak, dict) and isinstance(speak.get("pronouns"), dict):
        out["speakToAs"] = {**speak, "pronouns": tag(speak["pronouns"])}
    # a title's organizationId goes out as a group shared with that ORG
    used, n = _groups_in(card), 0
    for title in (out.get("titles") or {}).values():
        org = (out.get("organizations") or {}).get(title.get("organizationId"))
        if org is None:
            continue
        group = org["vCardParams"].get("group")
        while not group or group in used and group != org["vCardParams"].get("group"):
            n += 1
            group = f"org{n}"
        used.add(group)
        org["vCardParams"]["group"] = group
        title["vCardParams"]["group"] = group
    return out


def to_vcard(card: dict[str, Any]) -> str:
    """One Card as vCard 4.0 text (CRLF, folded); map ids go out as PROP-ID."""
    card = _with_prop_ids(card)
    lines = ["BEGIN:VCARD", "VERSION:4.0"]
    add = lines.append
    groups: list[Any] = [0, _groups_in(card)]

    def L(prop: str, value: str, params: dict[str, Any] | None = None) -> str:  # noqa: N802
        return _line(prop, value, params, groups)

    if "language" in card:
        add(L("LANGUAGE", card["language"]))
    if "created" in card:
        add(L("CREATED", card["created"].replace("-", "").replace(":", "")))
    if "uid" in card:
        add(L("UID", card["uid"]))
    if "kind" in card:
        add(L("KIND", card["kind"]))
    if "prodId" in card:
        add(L("PRODID", _escape(card["prodId"])))
    name = card.get("name") or {}
    full = name.get("full")
    if full is not None:
        add(L("FN", _escape(full)))
    else:  # FN is mandatory in vCard: derive it and say so
        derived = " ".join(
            c["value"] for c in name.get("components", []) if c.get("kind") != "separator"
        )
        add(L("FN", _escape(derived), {"derived": "TRUE"} if derived else {}))
    if name.get("components"):
        slots: dict[str, list[str]] = {k: [] for k in _N_KINDS}
        for comp in name["components"]:
            if comp.get("kind") in slots:
                slots[comp["kind"]].append(_escape(comp["value"]))
        sort_as = name.get("sortAs") or {}
        params = (
            {"sort-as": [sort_as.get("surname", ""), sort_as.get("given", "")]} if sort_as else {}
        )
        if params and not params["sort-as"][1]:
            params["sort-as"] = params["sort-as"][:1]
        slots["credential"] = slots["generation"] + slots["credential"]  # for 3.0 readers
        add(L("N", ";".join(",".join(slots[k]) for k in _N_KINDS), params))
    for obj in (card.get("nicknames") or {}).values():
        add(L("NICKNAME", _escape(obj["name"]), _common_params(obj)))
    for obj in (card.get("organizations") or {}).values():
        parts = [obj.get("name", "")] + [u["name"] for u in obj.get("units", [])]
        params = _common_params(obj)
        if "sortAs" in obj:
            params["sort-as"] = obj["sortAs"]
        add(L("ORG", ";".join(_escape(p) for p in parts), params))
    for obj in (card.get("titles") or {}).values():
        add(
            L(
                "ROLE" if obj.get("kind") == "role" else "TITLE",
                _escape(obj["name"]),
                _common_params(obj),
            )
        )
    for obj in (card.get("emails") or {}).values():
        add(L("EMAIL", _escape(obj["address"]), _common_params(obj)))
    for obj in (card.get("phones") or {}).values():
        params = _common_params(obj)
        feats = [_PHONE_FEATURES_OUT.get(f, f) for f in obj.get("features", {})]
        if feats:
            params["type"] = list(params.get("type", [])) + feats
        add(L("TEL", obj["number"], params))
    for obj in (card.get("addresses") or {}).values():
        old: dict[str, list[str]] = {k: [] for k in ("postOfficeBox", "locality", "region", "postcode", "country")}
        new: dict[str, list[str]] = {k: [] for k in _ADR_NEW}
        for comp in obj.get("components", []):
            for target in (old, new):
                if comp.get("kind") in target:
                    target[comp["kind"]].append(_escape(comp["value"]))
        street = " ".join(new["number"] + new["name"])
        adr = [old["postOfficeBox"], [], [street] if street else []]
        adr += [old[k] for k in ("locality", "region", "postcode", "country")]
        adr += [new[k] for k in _ADR_NEW]
        params = _common_params(obj)
        for key, source in (
            ("label", "full"),
            ("cc", "countryCode"),
            ("geo", "coordinates"),
            ("tz", "timeZone"),
        ):
            if obj.get(source):
                params[key] = obj[source]
        add(L("ADR", ";".join(",".join(part) for part in adr), params))
    for obj in (card.get("links") or {}).values():
        add(
            L(
                "CONTACT-URI" if obj.get("kind") == "contact" else "URL",
                obj["uri"],
                _common_params(obj),
            )
        )
    speak = card.get("speakToAs") or {}
    if "grammaticalGender" in speak:
        add(L("GRAMGENDER", speak["grammaticalGender"].upper()))
    for obj in (speak.get("pronouns") or {}).values():
        add(L("PRONOUNS", _escape(obj["pronouns"]), _common_params(obj)))
    for obj in (card.get("personalInfo") or {}).values():
        params = _common_params(obj, contexts=False)
        level = obj.get("level")
        if level and obj["kind"] == "expertise":
            level = {"low": "beginner", "medium": "average", "high": "expert"}[level]
        if level:
            params["level"] = level
        add(L(obj["kind"].upper(), _escape(obj["value"]), params))
    for obj in (card.get("directories") or {}).values():
        prop = "SOURCE" if obj.get("kind") == "entry" else "ORG-DIRECTORY"
        add(L(prop, obj["uri"], _common_params(obj)))
    for obj in (card.get("onlineServices") or {}).values():
        params = _common_params(obj)
        if "service" in obj:
            params["x-service-type"] = obj["service"]
        prop = (obj.get("vCardName") or "socialprofile").upper()
        if prop not in ("IMPP", "X-SOCIALPROFILE"):
            prop = "SOCIALPROFILE"
        if "service" in obj and prop == "SOCIALPROFILE":
            params["service-type"] = params.pop("x-service-type")
        add(L(prop, obj.get("uri", obj.get("user", "")), params))
    for obj in (card.get("notes") or {}).values():
        params = _common_params(obj, contexts=False)
        if "created" in obj:
            params["created"] = obj["created"].replace("-", "").replace(":", "")
        if (obj.get("author") or {}).get("name"):
            params["author-name"] = obj["author"]["name"]
        if (obj.get("author") or {}).get("uri"):
            params["author"] = obj["author"]["uri"]
        add(L("NOTE", _escape(obj["note"]), params))
    for obj in (card.get("anniversaries") or {}).values():
        date_prop = {"birth": "BDAY", "wedding": "ANNIVERSARY", "death": "DEATHDATE"}.get(obj["kind"])
        if date_prop:
            add(L(date_prop, _date_text(obj["date"]), _common_params(obj, contexts=False)))
            place = (obj.get("place") or {}).get("full")
            if place and obj["kind"] in ("birth", "death"):
                add(L("BIRTHPLACE" if obj["kind"] == "birth" else "DEATHPLACE", _escape(place)))
    for obj in (card.get("media") or {}).values():
        add(L(obj["kind"].upper(), obj["uri"], _common_params(obj)))
    for obj in (card.get("cryptoKeys") or {}).values():
        add(L("KEY", obj["uri"], _common_params(obj)))
    if card.get("keywords"):
        add(L("CATEGORIES", ",".join(_escape(k) for k in card["keywords"])))
    if "updated" in card:
        add(L("REV", card["updated"].replace("-", "").replace(":", "")))
    for member in card.get("members") or {}:
        add(L("MEMBER", member))
    for uri, rel in (card.get("relatedTo") or {}).items():
        types = list((rel or {}).get("relation", {}))
        add(L("RELATED", uri, {"type": types} if types else {}))
    for obj in (card.get("preferredLanguages") or {}).values():
        add(L("LANG", obj["language"], _common_params(obj)))
    for obj in (card.get("calendars") or {}).values():
        add(
            L(
                "FBURL" if obj.get("kind") == "freeBusy" else "CALURI",
                obj["uri"],
                _common_params(obj),
            )
        )
    for obj in (card.get("schedulingAddresses") or {}).values():
        add(L("CALADRURI", obj["uri"], _common_params(obj)))
    for prop in card.get("vCardProps") or []:
        name_, params, _type, *values = prop
        add(L(name_.upper(), ",".join(str(v) for v in values), params))
    add("END:VCARD")
    return "\r\n".join(lines) + "\r\n"


def _date_text(date: dict[str, Any]) -> str:
    if date.get("@type") == "Timestamp":
        return str(date["utc"]).replace("-", "").replace(":", "")
    year = f"{date['year']:04d}" if "year" in date else "--"
    month = f"{date['month']:02d}" if "month" in date else ("-" if "day" in date else "")
    day = f"{date['day']:02d}" if "day" in date else ""
    if "year" in date and month and month != "-":
        return f"{year}-{month}" + (f"-{day}" if day else "")
    return year + month + day


def to_vcards(cards: list[dict[str, Any]]) -> str:
    return "".join(to_vcard(card) for card in cards)
