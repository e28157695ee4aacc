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
import json
import quopri
import re
from dataclasses import dataclass, field
from typing import Any

import vobject

from . import jsprop, vcard_altid, vcard_structured
from .validate import PatchError, apply_patch, validate_card
from .vcard_text import escape as _escape
from .vcard_text import list_values as _list_values
from .vcard_text import split_structured as _split_structured
from .vcard_text import unescape as _unescape

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


def parse_vcards(text: str, *, validate: bool = True) -> ParseResult:
    """Every vCard in ``text``; a malformed one is reported, the rest still read.

    ``validate=False`` leaves judging the cards to the caller (the import's
    ContactCard/set validates each anyway and reports it by line).
    """
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
        problems = validate_card(card) if validate else []
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
class _Reader:
    """Collects one Card while walking a vCard's lines."""

    def __init__(self) -> None:
        self.card: dict[str, Any] = {"@type": "Card", "version": "2.0"}
        self.counters: dict[str, int] = {}
        self.unknown: list[list[Any]] = []
        self.places: list[tuple[str, str, Any, dict[str, list[str]]]] = []
        self.last: str | None = None  # path of the object the current line became
        self.paths: dict[int, str] = {}  # id(line) -> that path

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
        self.last = f"{prop}/{key}"


_LIST_PARAMS = frozenset({"type", "pid", "sort-as"})


def _first(params: dict[str, list[str]], key: str) -> str | None:
    values = params.get(key)
    return values[0] if values else None


def _params(line: _Line) -> dict[str, list[str]]:
    """The line's parameters; a quoted list (``TYPE="voice,home"``) split only where
    the parameter is a list: a quoted LABEL, GEO or AUTHOR-NAME keeps its commas."""
    out: dict[str, list[str]] = {}
    for key, values in line.params.items():
        if key not in _LIST_PARAMS:
            out[key] = [str(v) for v in values]
            continue
        flat: list[str] = []
        for v in values:  # SORT-AS items are positional: empty ones hold a place
            flat.extend(x for x in str(v).split(",") if x or key == "sort-as")
        out[key] = flat
    return out


_ADR_CONTEXT_IN = {**_CONTEXT_IN, "billing": "billing", "delivery": "delivery"}  # RFC 9554 §5.1


def _take_common(
    obj: dict[str, Any],
    params: dict[str, list[str]],
    line: Any,
    *,
    contexts: bool = True,
    context_map: dict[str, str] = _CONTEXT_IN,
) -> None:
    """Map TYPE/PREF/LABEL; everything else (and the group) into vCardParams."""
    types = [t.lower() for t in params.pop("type", [])]
    rest_types = []
    ctx: dict[str, bool] = {}
    for t in types:
        if contexts and t in context_map:
            ctx[context_map[t]] = True
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


def _convert(lines: list[_Line]) -> _Reader:
    """Each line converted on its own terms; ALTID alternatives are the caller's."""
    r = _Reader()
    card = r.card
    name: dict[str, Any] = {}
    prev: _Line | None = None
    for line in lines:
        if prev is not None and r.last is not None:
            r.paths[id(prev)] = r.last
        r.last, prev = None, line
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
                r.last = "name"
        elif prop == "N" and "components" not in name:
            st = vcard_structured.read("N", _raw(value), _first(params, "jscomps"))
            if st.components:
                name["components"] = st.components
            if st.ordered:
                name.update(st.ordered)
                params.pop("jscomps", None)
            sort = params.pop("sort-as", None)
            if sort and any(sort):
                pairs = zip(("surname", "given"), sort, strict=False)
                name["sortAs"] = {k: v for k, v in pairs if v}
            for key in ("value", "encoding", "charset"):
                params.pop(key, None)
            if params:
                name["vCardParams"] = {k: (v[0] if len(v) == 1 else v) for k, v in params.items()}
            r.last = "name"
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
            # RFC 9555 §2.6.4: SORT-AS's first item sorts the name, the others the units
            sort = params.pop("sort-as", None) or []
            if sort and sort[0]:
                obj["sortAs"] = sort[0]
            for unit, key in zip(obj.get("units", []), sort[1:], strict=False):
                if key:
                    unit["sortAs"] = key
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
            st = vcard_structured.read("ADR", _raw(value), _first(params, "jscomps"))
            obj = {"components": st.components} if st.components else {}
            if st.ordered:
                obj.update(st.ordered)
                params.pop("jscomps", None)
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
            _take_common(obj, params, line, context_map=_ADR_CONTEXT_IN)
            r.add("addresses", "a", obj)
        elif prop == "URL":
            obj = {"uri": _raw(value)}
            _take_common(obj, params, line)
            r.add("links", "l", obj)
        elif prop in ("IMPP", "SOCIALPROFILE", "X-SOCIALPROFILE"):
            # RFC 9555 §2.4.5: a SOCIALPROFILE of type TEXT is the user, not a uri
            if prop != "IMPP" and (_first(params, "value") or "").lower() == "text":
                obj = {"user": _text(value)}
            else:
                obj = {"uri": _raw(value)}
            username = params.pop("username", None)
            if username and "user" not in obj:
                obj["user"] = username[0]
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
            scale = params.pop("calscale", None)
            if scale and obj["date"].get("@type") != "Timestamp":
                obj["date"]["calendarScale"] = scale[0].lower()
            elif scale:
                params["calscale"] = scale
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
            r.last = f"speakToAs/{holder.last}"
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
    if prev is not None and r.last is not None:
        r.paths[id(prev)] = r.last
    if name:
        card["name"] = name
    _apply_ablabels(card, r.unknown)
    _apply_places(card, r)
    _apply_org_groups(card)
    if r.unknown:
        card["vCardProps"] = r.unknown
    return r


def _to_card(lines: list[_Line]) -> dict[str, Any]:
    """A vCard's lines as a Card: ALTID alternatives as localizations, JSPROP last."""
    jsprops = [line for line in lines if line.name == "JSPROP"]
    rest = [line for line in lines if line.name != "JSPROP"]
    explicit = next((_raw(x.value) for x in rest if x.name == "LANGUAGE"), None)
    plan = vcard_altid.plan(rest, explicit)
    copies: dict[int, _Line] = {}
    base: list[_Line] = []
    for line in rest:
        if id(line) in plan.skip:
            continue
        drop = plan.strip.get(id(line), ())
        if drop:
            line = copies.setdefault(id(line), _without(line, drop))
        base.append(line)
    r = _convert(base)
    card = r.card
    if plan.language and "language" not in card:
        card["language"] = plan.language
    paths = {orig: r.paths[id(copy)] for orig, copy in copies.items() if id(copy) in r.paths}
    paths.update(r.paths)
    _localize(card, plan, paths)
    if jsprops:
        _apply_jsprop_lines(card, jsprops)
    return card


def _without(line: _Line, names: tuple[str, ...]) -> _Line:
    params = {k: v for k, v in line.params.items() if k not in names}
    return _Line(line.name, params, line.value, line.group, line.number)


def _keep_unknown(card: dict[str, Any], line: _Line) -> None:
    """A line this mapping cannot place, kept as written (RFC 9555 §3.3.1.1)."""
    jparams: dict[str, Any] = {
        k: (v[0] if len(v) == 1 else v) for k, v in _params(line).items() if k != "charset"
    }
    if line.group:
        jparams["group"] = line.group
    value = line.value
    if isinstance(value, bytes):
        value = base64.b64encode(value).decode()
        jparams["encoding"] = "b"
    else:
        jparams.pop("encoding", None)
    card.setdefault("vCardProps", []).append([line.name.lower(), jparams, "unknown", value])


def _standalone(line: _Line) -> Any:
    """What one line converts to by itself (the object at its path), or None."""
    alone = _without(line, ("altid", "language"))
    r = _convert([alone])
    path = r.paths.get(id(alone))
    if path is None:
        return None
    node: Any = r.card
    for part in path.split("/"):
        node = node[part]
    return node


def _at(card: dict[str, Any], path: str) -> Any:
    node: Any = card
    for part in path.split("/"):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _localize(card: dict[str, Any], plan: vcard_altid.Plan[_Line], paths: dict[int, str]) -> None:
    """ALTID alternatives -> ``localizations`` patches; PHONETIC lines -> phonetics."""
    alt_lines: dict[tuple[int, str], _Line] = {}
    for base, alt, tag in plan.alternatives:
        path = paths.get(id(base))
        was, now = (_standalone(base), _standalone(alt)) if path else (None, None)
        if not isinstance(was, dict) or not isinstance(now, dict):
            _keep_unknown(card, alt)
            continue
        patch = card.setdefault("localizations", {}).setdefault(tag, {})
        if base.name == "ADR":  # RFC 9555 §2.4.1: "the key references the full property"
            patch[str(path)] = now
            continue
        for member in list(now) + [m for m in was if m not in now]:
            if now.get(member) != was.get(member):
                patch[f"{path}/{member}"] = now.get(member)
        alt_lines[(id(base), tag.casefold())] = alt
    for base, line in plan.phonetics:
        _phonetics(card, plan, paths, alt_lines, base, line)


def _phonetics(
    card: dict[str, Any],
    plan: vcard_altid.Plan[_Line],
    paths: dict[int, str],
    alt_lines: dict[tuple[int, str], _Line],
    base: _Line,
    line: _Line,
) -> None:
    """A PHONETIC N/ADR: its values are the phonetics of the components of ``base``
    (RFC 9555 §2.2.13); in the card's language directly, else as a localization."""
    path = paths.get(id(base))
    obj = _at(card, path) if path else None
    tag = vcard_altid.line_language(line)
    localized = tag is not None and not vcard_altid.same_tag(tag, plan.card_language)
    has = isinstance(obj, dict) and (
        "phoneticSystem" in obj
        or "phoneticScript" in obj
        or any("phonetic" in c for c in obj.get("components") or [])
    )
    localized = localized or has
    shape = alt_lines.get((id(base), tag.casefold()), base) if localized and tag else base
    layout = vcard_structured.read(
        base.name, _raw(shape.value), _first(shape.params, "jscomps")
    )
    mapping = vcard_structured.phonetics(layout.positions, _raw(line.value))
    comps = obj.get("components") if isinstance(obj, dict) else None
    if (
        not isinstance(obj, dict)
        or (localized and tag is None)
        or (not localized and (not isinstance(comps, list) or len(comps) != len(layout.positions)))
    ):
        _keep_unknown(card, line)
        return
    system = (line.params.get("phonetic") or ["script"])[0].lower()
    values: dict[str, str] = {} if system == "script" else {"phoneticSystem": system}
    script = (line.params.get("script") or [""])[0]
    if script:
        values["phoneticScript"] = script
    if not localized:
        obj.update(values)
        for index, text in mapping.items():
            obj["components"][index]["phonetic"] = text
        return
    assert tag is not None
    patch = card.setdefault("localizations", {}).setdefault(tag, {})
    for key, text in values.items():
        patch[f"{path}/{key}"] = text
    comps = patch.get(f"{path}/components")
    for index, text in mapping.items():
        if isinstance(comps, list) and index < len(comps):
            comps[index]["phonetic"] = text
        else:
            patch[f"{path}/components/{index}/phonetic"] = text


def _apply_jsprop_lines(card: dict[str, Any], lines: list[_Line]) -> None:
    """JSPROP lines as one PatchObject applied last (RFC 9555 §3.2.1); if it is
    invalid nothing of it is applied and the lines are kept as written."""
    patch: dict[str, Any] = {}
    bad: list[_Line] = []
    for line in lines:
        pointer = (line.params.get("jsptr") or [""])[0]
        try:
            value = json.loads(_text(line.value))
        except ValueError:
            bad.append(line)
            continue
        pointer = jsprop.decode_pointer(pointer).lstrip("/")
        if not pointer:
            bad.append(line)
            continue
        patch[pointer] = value
    if patch:
        patched = jsprop.apply_jsprops(card, patch)
        if patched is None:
            bad = lines
        else:
            card.clear()
            card.update(patched)
    for line in bad:
        _keep_unknown(card, line)


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
    "directories",
    "personalInfo",
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


@dataclass(slots=True)
class _Out:
    """One content line before serialisation, with the JSContact path it came from."""

    path: str
    prop: str
    value: str
    params: dict[str, Any]


def _phonetic_params(obj: dict[str, Any]) -> dict[str, Any] | None:
    """PHONETIC/SCRIPT for an N or ADR line of ``obj``'s phonetics, None without any."""
    has = any("phonetic" in c for c in obj.get("components") or [])
    if not has and "phoneticSystem" not in obj and "phoneticScript" not in obj:
        return None
    params: dict[str, Any] = {"phonetic": obj.get("phoneticSystem", "script")}
    if "phoneticScript" in obj:
        params["script"] = obj["phoneticScript"]
    return params


def _render(card: dict[str, Any]) -> list[_Out]:
    """The content lines of a card's mapped properties, each with the path it came from.

    The path (``titles/t1``, ``name``) is what ALTID ties a localized line to;
    ``name#phonetic`` and ``addresses/a1#phonetic`` are PHONETIC lines
    (RFC 9555 §2.3.13).
    """
    card = _with_prop_ids(card)
    lines: list[_Out] = []

    def L(prop: str, value: str, params: dict[str, Any] | None = None, path: str = "") -> None:  # noqa: N802
        lines.append(_Out(path, prop, value, dict(params or {})))

    if "language" in card:
        L("LANGUAGE", card["language"])
    if "created" in card:
        L("CREATED", card["created"].replace("-", "").replace(":", ""))
    if "uid" in card:
        L("UID", card["uid"])
    if "kind" in card:
        L("KIND", card["kind"])
    if "prodId" in card:
        L("PRODID", _escape(card["prodId"]))
    name = card.get("name") or {}
    full = name.get("full")
    if full is not None:
        L("FN", _escape(full), path="name")
    else:  # FN is mandatory in vCard: derive it and say so
        derived = " ".join(
            c["value"] for c in name.get("components", []) if c.get("kind") != "separator"
        )
        L("FN", _escape(derived), {"derived": "TRUE"} if derived else {}, path="name")
    if name.get("components"):
        sort_as = name.get("sortAs") or {}
        params: dict[str, Any] = (
            {"sort-as": [sort_as.get("surname", ""), sort_as.get("given", "")]} if sort_as else {}
        )
        if params:
            params["sort-as"] = ",".join(params["sort-as"]).rstrip(",")
        params.update(name.get("vCardParams") or {})
        value, positions = vcard_structured.write("N", name)
        order = vcard_structured.jscomps(name, positions)
        if order is not None:
            params["jscomps"] = order
        L("N", value, params, path="name")
        phonetic = _phonetic_params(name)
        if phonetic is not None:
            value = vcard_structured.write("N", name, phonetic=True)[0]
            L("N", value, phonetic, path="name#phonetic")
    for key, obj in (card.get("nicknames") or {}).items():
        L("NICKNAME", _escape(obj["name"]), _common_params(obj), f"nicknames/{key}")
    for key, obj in (card.get("organizations") or {}).items():
        parts = [obj.get("name", "")] + [u["name"] for u in obj.get("units", [])]
        params = _common_params(obj)
        sort = [obj.get("sortAs", "")] + [u.get("sortAs", "") for u in obj.get("units", [])]
        while sort and not sort[-1]:
            sort.pop()
        if sort:  # one quoted value: an empty first item must keep its place
            params["sort-as"] = ",".join(sort)
        L("ORG", ";".join(_escape(p) for p in parts), params, f"organizations/{key}")
    for key, obj in (card.get("titles") or {}).items():
        prop = "ROLE" if obj.get("kind") == "role" else "TITLE"
        L(prop, _escape(obj["name"]), _common_params(obj), f"titles/{key}")
    for key, obj in (card.get("emails") or {}).items():
        L("EMAIL", _escape(obj["address"]), _common_params(obj), f"emails/{key}")
    for key, obj in (card.get("phones") or {}).items():
        params = _common_params(obj)
        feats = [_PHONE_FEATURES_OUT.get(f, f) for f in obj.get("features", {})]
        if feats:
            params["type"] = list(params.get("type", [])) + feats
        L("TEL", obj["number"], params, f"phones/{key}")
    for key, obj in (card.get("addresses") or {}).items():
        params = _common_params(obj)
        for param, source in (
            ("label", "full"),
            ("cc", "countryCode"),
            ("geo", "coordinates"),
            ("tz", "timeZone"),
        ):
            if obj.get(source):
                params[param] = obj[source]
        value, positions = vcard_structured.write("ADR", obj)
        order = vcard_structured.jscomps(obj, positions)
        if order is not None:
            params["jscomps"] = order
        L("ADR", value, params, f"addresses/{key}")
        phonetic = _phonetic_params(obj)
        if phonetic is not None:
            value = vcard_structured.write("ADR", obj, phonetic=True)[0]
            L("ADR", value, phonetic, f"addresses/{key}#phonetic")
    for key, obj in (card.get("links") or {}).items():
        prop = "CONTACT-URI" if obj.get("kind") == "contact" else "URL"
        L(prop, obj["uri"], _common_params(obj), f"links/{key}")
    speak = card.get("speakToAs") or {}
    if "grammaticalGender" in speak:
        L("GRAMGENDER", speak["grammaticalGender"].upper())
    for key, obj in (speak.get("pronouns") or {}).items():
        L("PRONOUNS", _escape(obj["pronouns"]), _common_params(obj), f"speakToAs/pronouns/{key}")
    for key, obj in (card.get("personalInfo") or {}).items():
        params = _common_params(obj, contexts=False)
        level = obj.get("level")
        if level and obj["kind"] == "expertise":
            level = {"low": "beginner", "medium": "average", "high": "expert"}[level]
        if level:
            params["level"] = level
        L(obj["kind"].upper(), _escape(obj["value"]), params, f"personalInfo/{key}")
    for key, obj in (card.get("directories") or {}).items():
        prop = "SOURCE" if obj.get("kind") == "entry" else "ORG-DIRECTORY"
        L(prop, obj["uri"], _common_params(obj), f"directories/{key}")
    for key, obj in (card.get("onlineServices") or {}).items():
        params = _common_params(obj)
        if "service" in obj:
            params["x-service-type"] = obj["service"]
        prop = (obj.get("vCardName") or "socialprofile").upper()
        if prop not in ("IMPP", "X-SOCIALPROFILE"):
            prop = "SOCIALPROFILE"
        if "service" in obj and prop == "SOCIALPROFILE":
            params["service-type"] = params.pop("x-service-type")
        if "uri" in obj:
            if "user" in obj:
                params["username"] = obj["user"]
            L(prop, obj["uri"], params, f"onlineServices/{key}")
        else:  # a user name alone: SOCIALPROFILE as TEXT (IMPP takes only a URI)
            prop = "SOCIALPROFILE" if prop == "IMPP" else prop
            params["value"] = "text"
            L(prop, _escape(obj.get("user", "")), params, f"onlineServices/{key}")
    for key, obj in (card.get("notes") or {}).items():
        params = _common_params(obj, contexts=False)
        if "created" in obj:
            params["created"] = obj["created"].replace("-", "").replace(":", "")
        if (obj.get("author") or {}).get("name"):
            params["author-name"] = obj["author"]["name"]
        if (obj.get("author") or {}).get("uri"):
            params["author"] = obj["author"]["uri"]
        L("NOTE", _escape(obj["note"]), params, f"notes/{key}")
    for key, obj in (card.get("anniversaries") or {}).items():
        date_prop = {"birth": "BDAY", "wedding": "ANNIVERSARY", "death": "DEATHDATE"}.get(obj["kind"])
        if date_prop:
            params = _common_params(obj, contexts=False)
            if "calendarScale" in obj["date"]:
                params["calscale"] = obj["date"]["calendarScale"]
            L(date_prop, _date_text(obj["date"]), params, f"anniversaries/{key}")
            place = (obj.get("place") or {}).get("full")
            if place and obj["kind"] in ("birth", "death"):
                L("BIRTHPLACE" if obj["kind"] == "birth" else "DEATHPLACE", _escape(place))
    for key, obj in (card.get("media") or {}).items():
        L(obj["kind"].upper(), obj["uri"], _common_params(obj), f"media/{key}")
    for key, obj in (card.get("cryptoKeys") or {}).items():
        L("KEY", obj["uri"], _common_params(obj), f"cryptoKeys/{key}")
    if card.get("keywords"):
        L("CATEGORIES", ",".join(_escape(k) for k in card["keywords"]))
    if "updated" in card:
        L("REV", card["updated"].replace("-", "").replace(":", ""))
    for member in card.get("members") or {}:
        L("MEMBER", member)
    for uri, rel in (card.get("relatedTo") or {}).items():
        types = list((rel or {}).get("relation", {}))
        L("RELATED", uri, {"type": types} if types else {})
    for key, obj in (card.get("preferredLanguages") or {}).items():
        L("LANG", obj["language"], _common_params(obj), f"preferredLanguages/{key}")
    for key, obj in (card.get("calendars") or {}).items():
        prop = "FBURL" if obj.get("kind") == "freeBusy" else "CALURI"
        L(prop, obj["uri"], _common_params(obj), f"calendars/{key}")
    for key, obj in (card.get("schedulingAddresses") or {}).items():
        L("CALADRURI", obj["uri"], _common_params(obj), f"schedulingAddresses/{key}")
    for prop in card.get("vCardProps") or []:
        name_, params, _type, *values = prop
        L(name_.upper(), ",".join(str(v) for v in values), params)
    return lines


def to_vcard(card: dict[str, Any]) -> str:
    """One Card as vCard 4.0 text (CRLF, folded); map ids go out as PROP-ID.

    Localizations go out as ALTID/LANGUAGE alternatives of the lines they
    change; whatever the lines cannot say goes out as JSPROP (RFC 9555
    §3.3.1), found by reading the lines back, so that reading the vCard
    gives this card again.
    """
    lines = _render(card)
    lines += _localized_lines(card, lines)
    _pair_phonetics(lines)
    head = ["BEGIN:VCARD", "VERSION:4.0"]
    groups: list[Any] = [0, _groups_in(card)]
    body = [_line(o.prop, o.value, o.params, groups) for o in lines]
    try:
        back = _to_card(_lines("\r\n".join(head + body + ["END:VCARD"]) + "\r\n", 1))
    except _LineError:  # a vCardProps line that cannot be read back: carry the whole card
        back = {}
    for pointer, value in jsprop.card_patch(back, card).items():
        text = _escape(jsprop.jsprop_value(value))
        body.append(_fold(f"JSPROP;JSPTR={jsprop.encode_pointer(pointer)}:{text}"))
    return "\r\n".join(head + body + ["END:VCARD"]) + "\r\n"


def _pair_phonetics(lines: list[_Out]) -> None:
    """A PHONETIC line shares an ALTID with the line it spells out (RFC 9555 §2.2.13)."""
    taken = {str(o.params.get("altid")) for o in lines}
    n = 0
    for out in lines:
        if not out.path.endswith("#phonetic") or "altid" in out.params:
            continue
        family = out.path.split("#")[0]
        base = next((o for o in lines if o.prop == out.prop and o.path == family), None)
        if base is None:
            continue
        if "altid" not in base.params:
            while str(n := n + 1) in taken:
                pass
            taken.add(str(n))
            base.params["altid"] = str(n)
        out.params = {"altid": base.params["altid"], **out.params}


def _localized_lines(card: dict[str, Any], base: list[_Out]) -> list[_Out]:
    """Each localization's changed lines with LANGUAGE and the ALTID of the line they
    localize (RFC 9555 §2.2.10); what has no such line is left to JSPROP."""
    locs = card.get("localizations")
    if not isinstance(locs, dict) or not locs:
        return []
    plain = {k: v for k, v in card.items() if k != "localizations"}
    by_path: dict[tuple[str, str], list[_Out]] = {}
    for out in base:
        if out.path:
            by_path.setdefault((out.prop, out.path), []).append(out)
    altids: dict[tuple[str, str], str] = {}
    result: list[_Out] = []
    for tag, patch in locs.items():
        if not isinstance(patch, dict) or not isinstance(tag, str) or not tag:
            continue
        try:
            rendered = _render(apply_patch(plain, patch))
        except (PatchError, KeyError, TypeError, AttributeError, ValueError):
            continue  # not a card this writer can render: JSPROP carries it
        mine: dict[tuple[str, str], list[_Out]] = {}
        derived = {(o.prop, o.path) for o in base + rendered if "derived" in o.params}
        for out in rendered:
            if out.path and (out.prop, out.path) not in derived:
                mine.setdefault((out.prop, out.path), []).append(out)
        for (prop, path), outs in mine.items():
            family = path.split("#")[0]
            if (prop, family) not in by_path or len(outs) != 1:
                continue
            was = by_path.get((prop, path))
            if was and [(o.value, o.params) for o in was] == [(o.value, o.params) for o in outs]:
                continue
            altid = altids.get((prop, family))
            if altid is None:
                altid = altids[(prop, family)] = str(len(altids) + 1)
                for o in by_path[(prop, family)] + by_path.get((prop, family + "#phonetic"), []):
                    o.params["altid"] = altid
            out = outs[0]
            out.params = {"altid": altid, "language": tag, **out.params}
            result.append(out)
    return result


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
