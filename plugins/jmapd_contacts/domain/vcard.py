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
_N_KINDS = ("surname", "given", "given2", "title", "credential")


class _Reader:
    """Collects one Card while walking a vCard's lines."""

    def __init__(self) -> None:
        self.card: dict[str, Any] = {"@type": "Card", "version": "2.0"}
        self.counters: dict[str, int] = {}
        self.unknown: list[list[Any]] = []

    def new_id(self, prop: str, prefix: str) -> str:
        self.counters[prop] = self.counters.get(prop, 0) + 1
        return f"{prefix}{self.counters[prop]}"

    def add(self, prop: str, prefix: str, obj: dict[str, Any]) -> None:
        self.card.setdefault(prop, {})[self.new_id(prop, prefix)] = obj


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
    if label and "label" not in obj and obj.get("@kind") != "address":
        obj["label"] = label[0]
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
            name["full"] = _text(value)
        elif prop == "N" and "components" not in name:
            parts = _raw_components(_raw(value))
            comps = []
            for kind, part in zip(_N_KINDS, parts, strict=False):
                comps.extend({"kind": kind, "value": v} for v in _list_values(part))
            if comps:
                name["components"] = comps
            sort = params.pop("sort-as", None)
            if sort:
                name["sortAs"] = {"surname": sort[0]}
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
            parts = _raw_components(_raw(value))
            comps = []
            for kind, part in zip(_ADR_KINDS, parts, strict=False):
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
        elif prop in ("IMPP", "X-SOCIALPROFILE"):
            obj = {"uri": _raw(value)}
            service = params.pop("x-service-type", None)
            if service:
                obj["service"] = service[0]
            if prop == "X-SOCIALPROFILE":
                obj["vCardName"] = "x-socialprofile"
            _take_common(obj, params, line)
            r.add("onlineServices", "s", obj)
        elif prop == "NOTE":
            obj = {"note": _text(value)}
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
    if r.unknown:
        card["vCardProps"] = r.unknown
    return card


# -- writing -----------------------------------------------------------------------


def _fold(line: str) -> str:
    out, current = [], b""
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


def _line(name: str, value: str, params: dict[str, Any] | None = None) -> str:
    params = dict(params or {})
    group = params.pop("group", None)
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
    params.update(extra)
    return params


def to_vcard(card: dict[str, Any]) -> str:
    """One Card as vCard 4.0 text (CRLF, folded)."""
    lines = ["BEGIN:VCARD", "VERSION:4.0"]
    add = lines.append
    if "uid" in card:
        add(_line("UID", card["uid"]))
    if "kind" in card:
        add(_line("KIND", card["kind"]))
    if "prodId" in card:
        add(_line("PRODID", _escape(card["prodId"])))
    name = card.get("name") or {}
    full = name.get("full")
    if full is None:
        full = " ".join(
            c["value"] for c in name.get("components", []) if c.get("kind") != "separator"
        )
    add(_line("FN", _escape(full)))
    if name.get("components"):
        slots: dict[str, list[str]] = {k: [] for k in _N_KINDS}
        for comp in name["components"]:
            if comp.get("kind") in slots:
                slots[comp["kind"]].append(_escape(comp["value"]))
        params = (
            {"sort-as": name["sortAs"]["surname"]} if name.get("sortAs", {}).get("surname") else {}
        )
        add(_line("N", ";".join(",".join(slots[k]) for k in _N_KINDS), params))
    for obj in (card.get("nicknames") or {}).values():
        add(_line("NICKNAME", _escape(obj["name"]), _common_params(obj)))
    for obj in (card.get("organizations") or {}).values():
        parts = [obj.get("name", "")] + [u["name"] for u in obj.get("units", [])]
        params = _common_params(obj)
        if "sortAs" in obj:
            params["sort-as"] = obj["sortAs"]
        add(_line("ORG", ";".join(_escape(p) for p in parts), params))
    for obj in (card.get("titles") or {}).values():
        add(
            _line(
                "ROLE" if obj.get("kind") == "role" else "TITLE",
                _escape(obj["name"]),
                _common_params(obj),
            )
        )
    for obj in (card.get("emails") or {}).values():
        add(_line("EMAIL", _escape(obj["address"]), _common_params(obj)))
    for obj in (card.get("phones") or {}).values():
        params = _common_params(obj)
        feats = [_PHONE_FEATURES_OUT.get(f, f) for f in obj.get("features", {})]
        if feats:
            params["type"] = list(params.get("type", [])) + feats
        add(_line("TEL", obj["number"], params))
    for obj in (card.get("addresses") or {}).values():
        slots = {k: [] for k in _ADR_KINDS}
        for comp in obj.get("components", []):
            if comp.get("kind") in slots:
                slots[comp["kind"]].append(_escape(comp["value"]))
        params = _common_params(obj)
        for key, source in (
            ("label", "full"),
            ("cc", "countryCode"),
            ("geo", "coordinates"),
            ("tz", "timeZone"),
        ):
            if obj.get(source):
                params[key] = obj[source]
        add(_line("ADR", ";".join(",".join(slots[k]) for k in _ADR_KINDS), params))
    for obj in (card.get("links") or {}).values():
        add(_line("URL", obj["uri"], _common_params(obj)))
    for obj in (card.get("onlineServices") or {}).values():
        params = _common_params(obj)
        if "service" in obj:
            params["x-service-type"] = obj["service"]
        prop = "X-SOCIALPROFILE" if obj.get("vCardName") == "x-socialprofile" else "IMPP"
        add(_line(prop, obj.get("uri", obj.get("user", "")), params))
    for obj in (card.get("notes") or {}).values():
        add(_line("NOTE", _escape(obj["note"]), _common_params(obj, contexts=False)))
    for obj in (card.get("anniversaries") or {}).values():
        prop = {"birth": "BDAY", "wedding": "ANNIVERSARY", "death": "DEATHDATE"}.get(obj["kind"])
        if prop:
            add(_line(prop, _date_text(obj["date"]), _common_params(obj, contexts=False)))
    for obj in (card.get("media") or {}).values():
        add(_line(obj["kind"].upper(), obj["uri"], _common_params(obj)))
    for obj in (card.get("cryptoKeys") or {}).values():
        add(_line("KEY", obj["uri"], _common_params(obj)))
    if card.get("keywords"):
        add(_line("CATEGORIES", ",".join(_escape(k) for k in card["keywords"])))
    if "updated" in card:
        add(_line("REV", card["updated"].replace("-", "").replace(":", "")))
    for member in card.get("members") or {}:
        add(_line("MEMBER", member))
    for uri, rel in (card.get("relatedTo") or {}).items():
        types = list((rel or {}).get("relation", {}))
        add(_line("RELATED", uri, {"type": types} if types else {}))
    for obj in (card.get("preferredLanguages") or {}).values():
        add(_line("LANG", obj["language"], _common_params(obj)))
    for obj in (card.get("calendars") or {}).values():
        add(
            _line(
                "FBURL" if obj.get("kind") == "freeBusy" else "CALURI",
                obj["uri"],
                _common_params(obj),
            )
        )
    for obj in (card.get("schedulingAddresses") or {}).values():
        add(_line("CALADRURI", obj["uri"], _common_params(obj)))
    for prop in card.get("vCardProps") or []:
        name_, params, _type, *values = prop
        add(_line(name_.upper(), ",".join(str(v) for v in values), params))
    add("END:VCARD")
    return "\r\n".join(lines) + "\r\n"


def _date_text(date: dict[str, Any]) -> str:
    if date.get("@type") == "Timestamp":
        return date["utc"].replace("-", "").replace(":", "")
    year = f"{date['year']:04d}" if "year" in date else "--"
    month = f"{date['month']:02d}" if "month" in date else ("-" if "day" in date else "")
    day = f"{date['day']:02d}" if "day" in date else ""
    if "year" in date and month and month != "-":
        return f"{year}-{month}" + (f"-{day}" if day else "")
    return year + month + day


def to_vcards(cards: list[dict[str, Any]]) -> str:
    return "".join(to_vcard(card) for card in cards)
