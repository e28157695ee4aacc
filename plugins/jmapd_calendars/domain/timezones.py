"""Time zone identifiers: IANA names, Windows names and iCalendar VTIMEZONE definitions.

JSCalendar only knows IANA ids (TimeZoneId), but real .ics files name zones
the way their producer does: Outlook writes Windows names ("W. Europe
Standard Time"), Thunderbird wraps IANA names in a vendor prefix
("/mozilla.org/20050126_1/America/New_York"), and some producers define a
zone only through its VTIMEZONE rules. Everything here maps such a name to
an IANA id so that stored events always use zoneinfo.

Public API:

- :func:`get_zone` — the ``tzinfo`` of an IANA id (cached), ``None`` if unknown.
- :func:`is_known_zone` — whether an id is a valid TimeZoneId.
- :func:`resolve_tzid` — IANA id for an iCalendar TZID (IANA, Windows, vendor
  prefixed, or matched against a VTIMEZONE definition's offsets).
- :func:`match_offsets` — the IANA zone whose UTC offsets agree with a
  ``tzinfo`` over sample instants (for custom VTIMEZONEs).
- :data:`WINDOWS_ZONES` — Windows zone name → IANA id (CLDR's territory "001" choices).
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, datetime, timedelta, tzinfo

# NOTE(caldomain): the CLDR windowsZones "001" mapping, written out for the
# zones producers actually emit; the table is data, not code, and each entry
# was checked against zoneinfo when the module was written (see tests).
WINDOWS_ZONES: dict[str, str] = {
    "Dateline Standard Time": "Etc/GMT+12",
    "UTC-11": "Etc/GMT+11",
    "Aleutian Standard Time": "America/Adak",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "Marquesas Standard Time": "Pacific/Marquesas",
    "Alaskan Standard Time": "America/Anchorage",
    "UTC-09": "Etc/GMT+9",
    "Pacific Standard Time (Mexico)": "America/Tijuana",
    "UTC-08": "Etc/GMT+8",
    "Pacific Standard Time": "America/Los_Angeles",
    "US Mountain Standard Time": "America/Phoenix",
    "Mountain Standard Time (Mexico)": "America/Mazatlan",
    "Mountain Standard Time": "America/Denver",
    "Yukon Standard Time": "America/Whitehorse",
    "Central America Standard Time": "America/Guatemala",
    "Central Standard Time": "America/Chicago",
    "Easter Island Standard Time": "Pacific/Easter",
    "Central Standard Time (Mexico)": "America/Mexico_City",
    "Canada Central Standard Time": "America/Regina",
    "SA Pacific Standard Time": "America/Bogota",
    "Eastern Standard Time (Mexico)": "America/Cancun",
    "Eastern Standard Time": "America/New_York",
    "Haiti Standard Time": "America/Port-au-Prince",
    "Cuba Standard Time": "America/Havana",
    "US Eastern Standard Time": "America/Indianapolis",
    "Turks And Caicos Standard Time": "America/Grand_Turk",
    "Paraguay Standard Time": "America/Asuncion",
    "Atlantic Standard Time": "America/Halifax",
    "Venezuela Standard Time": "America/Caracas",
    "Central Brazilian Standard Time": "America/Cuiaba",
    "SA Western Standard Time": "America/La_Paz",
    "Pacific SA Standard Time": "America/Santiago",
    "Newfoundland Standard Time": "America/St_Johns",
    "Tocantins Standard Time": "America/Araguaina",
    "E. South America Standard Time": "America/Sao_Paulo",
    "SA Eastern Standard Time": "America/Cayenne",
    "Argentina Standard Time": "America/Buenos_Aires",
    "Greenland Standard Time": "America/Godthab",
    "Montevideo Standard Time": "America/Montevideo",
    "Magallanes Standard Time": "America/Punta_Arenas",
    "Saint Pierre Standard Time": "America/Miquelon",
    "Bahia Standard Time": "America/Bahia",
    "UTC-02": "Etc/GMT+2",
    "Azores Standard Time": "Atlantic/Azores",
    "Cape Verde Standard Time": "Atlantic/Cape_Verde",
    "UTC": "Etc/UTC",
    "Coordinated Universal Time": "Etc/UTC",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "Sao Tome Standard Time": "Africa/Sao_Tome",
    "Morocco Standard Time": "Africa/Casablanca",
    "W. Europe Standard Time": "Europe/Berlin",
    "Central Europe Standard Time": "Europe/Budapest",
    "Romance Standard Time": "Europe/Paris",
    "Central European Standard Time": "Europe/Warsaw",
    "W. Central Africa Standard Time": "Africa/Lagos",
    "Jordan Standard Time": "Asia/Amman",
    "GTB Standard Time": "Europe/Bucharest",
    "Middle East Standard Time": "Asia/Beirut",
    "Egypt Standard Time": "Africa/Cairo",
    "E. Europe Standard Time": "Europe/Chisinau",
    "Syria Standard Time": "Asia/Damascus",
    "West Bank Standard Time": "Asia/Hebron",
    "South Africa Standard Time": "Africa/Johannesburg",
    "FLE Standard Time": "Europe/Kiev",
    "Israel Standard Time": "Asia/Jerusalem",
    "South Sudan Standard Time": "Africa/Juba",
    "Kaliningrad Standard Time": "Europe/Kaliningrad",
    "Sudan Standard Time": "Africa/Khartoum",
    "Libya Standard Time": "Africa/Tripoli",
    "Namibia Standard Time": "Africa/Windhoek",
    "Arabic Standard Time": "Asia/Baghdad",
    "Turkey Standard Time": "Europe/Istanbul",
    "Arab Standard Time": "Asia/Riyadh",
    "Belarus Standard Time": "Europe/Minsk",
    "Russian Standard Time": "Europe/Moscow",
    "E. Africa Standard Time": "Africa/Nairobi",
    "Volgograd Standard Time": "Europe/Volgograd",
    "Iran Standard Time": "Asia/Tehran",
    "Arabian Standard Time": "Asia/Dubai",
    "Astrakhan Standard Time": "Europe/Astrakhan",
    "Azerbaijan Standard Time": "Asia/Baku",
    "Russia Time Zone 3": "Europe/Samara",
    "Mauritius Standard Time": "Indian/Mauritius",
    "Saratov Standard Time": "Europe/Saratov",
    "Georgian Standard Time": "Asia/Tbilisi",
    "Caucasus Standard Time": "Asia/Yerevan",
    "Afghanistan Standard Time": "Asia/Kabul",
    "West Asia Standard Time": "Asia/Tashkent",
    "Ekaterinburg Standard Time": "Asia/Yekaterinburg",
    "Pakistan Standard Time": "Asia/Karachi",
    "Qyzylorda Standard Time": "Asia/Qyzylorda",
    "India Standard Time": "Asia/Calcutta",
    "Sri Lanka Standard Time": "Asia/Colombo",
    "Nepal Standard Time": "Asia/Katmandu",
    "Central Asia Standard Time": "Asia/Almaty",
    "Bangladesh Standard Time": "Asia/Dhaka",
    "Omsk Standard Time": "Asia/Omsk",
    "Myanmar Standard Time": "Asia/Rangoon",
    "SE Asia Standard Time": "Asia/Bangkok",
    "Altai Standard Time": "Asia/Barnaul",
    "W. Mongolia Standard Time": "Asia/Hovd",
    "North Asia Standard Time": "Asia/Krasnoyarsk",
    "N. Central Asia Standard Time": "Asia/Novosibirsk",
    "Tomsk Standard Time": "Asia/Tomsk",
    "China Standard Time": "Asia/Shanghai",
    "North Asia East Standard Time": "Asia/Irkutsk",
    "Singapore Standard Time": "Asia/Singapore",
    "W. Australia Standard Time": "Australia/Perth",
    "Taipei Standard Time": "Asia/Taipei",
    "Ulaanbaatar Standard Time": "Asia/Ulaanbaatar",
    "Aus Central W. Standard Time": "Australia/Eucla",
    "Transbaikal Standard Time": "Asia/Chita",
    "Tokyo Standard Time": "Asia/Tokyo",
    "North Korea Standard Time": "Asia/Pyongyang",
    "Korea Standard Time": "Asia/Seoul",
    "Yakutsk Standard Time": "Asia/Yakutsk",
    "Cen. Australia Standard Time": "Australia/Adelaide",
    "AUS Central Standard Time": "Australia/Darwin",
    "E. Australia Standard Time": "Australia/Brisbane",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "West Pacific Standard Time": "Pacific/Port_Moresby",
    "Tasmania Standard Time": "Australia/Hobart",
    "Vladivostok Standard Time": "Asia/Vladivostok",
    "Lord Howe Standard Time": "Australia/Lord_Howe",
    "Bougainville Standard Time": "Pacific/Bougainville",
    "Russia Time Zone 10": "Asia/Srednekolymsk",
    "Magadan Standard Time": "Asia/Magadan",
    "Norfolk Standard Time": "Pacific/Norfolk",
    "Sakhalin Standard Time": "Asia/Sakhalin",
    "Central Pacific Standard Time": "Pacific/Guadalcanal",
    "Russia Time Zone 11": "Asia/Kamchatka",
    "New Zealand Standard Time": "Pacific/Auckland",
    "UTC+12": "Etc/GMT-12",
    "Fiji Standard Time": "Pacific/Fiji",
    "Chatham Islands Standard Time": "Pacific/Chatham",
    "UTC+13": "Etc/GMT-13",
    "Tonga Standard Time": "Pacific/Tongatapu",
    "Samoa Standard Time": "Pacific/Apia",
    "Line Islands Standard Time": "Pacific/Kiritimati",
}

_WINDOWS_LOWER = {k.lower(): v for k, v in WINDOWS_ZONES.items()}


@functools.lru_cache(maxsize=1024)
def get_zone(tzid: str | None) -> tzinfo | None:
    """The zoneinfo zone of an IANA id, ``None`` for an unknown or empty id.

    Cached because every occurrence conversion asks for it.
    """
    if not tzid or not isinstance(tzid, str) or tzid.startswith("/") or ".." in tzid:
        # NOTE(caldomain): zoneinfo rejects absolute/relative paths itself, but
        # with an exception type that differs by version; refuse them here.
        return None
    try:
        return zoneinfo.ZoneInfo(tzid)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


def is_known_zone(tzid: object) -> bool:
    """Whether ``tzid`` is a TimeZoneId this server can compute with."""
    return isinstance(tzid, str) and get_zone(tzid) is not None


@functools.lru_cache(maxsize=1)
def _available() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _iana_suffix(tzid: str) -> str | None:
    """The longest trailing ``Area/City`` of a vendor-prefixed TZID that is an IANA id."""
    parts = [p for p in tzid.strip().split("/") if p]
    for i in range(len(parts)):
        candidate = "/".join(parts[i:])
        if candidate in _available():
            return candidate
    return None


def resolve_tzid(tzid: str, definition: tzinfo | None = None) -> str | None:
    """The IANA id an iCalendar TZID stands for, or ``None``.

    Tried in order: the id itself, a Windows name, an IANA suffix of a
    vendor-prefixed id, then (given the VTIMEZONE's own ``tzinfo``) the IANA
    zone whose offsets match the definition.

    :param tzid: the TZID parameter/property value.
    :param definition: the ``tzinfo`` built from the file's VTIMEZONE, if any.
    """
    tzid = tzid.strip().strip('"')
    if not tzid:
        return None
    if tzid in _available():
        return tzid
    win = _WINDOWS_LOWER.get(tzid.lower())
    if win:
        return win
    suffix = _iana_suffix(tzid)
    if suffix:
        return suffix
    if definition is not None:
        return match_offsets(definition)
    return None


# Tried first when matching offsets: the zone most people in a region mean.
_CANONICAL = (
    "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
    "America/Anchorage", "Pacific/Honolulu", "America/Sao_Paulo", "Europe/London", "Europe/Berlin",
    "Europe/Paris", "Europe/Helsinki", "Europe/Moscow", "Asia/Kolkata", "Asia/Shanghai", "Asia/Tokyo",
    "Australia/Sydney", "Australia/Adelaide", "Australia/Perth", "Pacific/Auckland", "Etc/UTC",
)  # fmt: skip
_PREFERRED = _CANONICAL + tuple(sorted(set(WINDOWS_ZONES.values()) - set(_CANONICAL)))


def _samples(year: int) -> list[datetime]:
    # One instant per half month over three years catches any DST rule's dates
    # to within two weeks; ties are broken by the preferred-zone order.
    return [
        datetime(y, m, d, 12, tzinfo=UTC)
        for y in range(year, year + 3)
        for m in range(1, 13)
        for d in (1, 16)
    ]


def match_offsets(definition: tzinfo, year: int | None = None) -> str | None:
    """The IANA zone (preferring the Windows-table cities) with the same UTC offsets.

    Used for custom VTIMEZONEs whose TZID names no known zone: the stored
    event still needs an IANA id, and one whose offsets agree over the
    coming years gives the same instants.
    """
    year = year or datetime.now(UTC).year
    samples = _samples(year)
    try:
        want = [_offset(definition, s) for s in samples]
    except Exception:  # a broken definition: nothing to match
        return None
    if any(w is None for w in want):
        return None
    for name in _PREFERRED + tuple(sorted(_available() - set(_PREFERRED))):
        zone = get_zone(name)
        if zone is None:
            continue
        if all(_offset(zone, s) == w for s, w in zip(samples, want, strict=True)):
            return name
    return None


def _offset(zone: tzinfo, instant: datetime) -> timedelta | None:
    return instant.astimezone(zone).utcoffset()
