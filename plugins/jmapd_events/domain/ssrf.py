"""Admission control for push URLs (RFC 8620 §8.6: connecting to unknown servers).

A PushSubscription makes the server POST to an arbitrary client-chosen URL,
which is a classic SSRF vector: cloud metadata (169.254.169.254), admin
interfaces on loopback, the internal network.  The check is done on the
*resolved addresses*, never on the host string, because numeric tricks
("127.1", "0x7f000001", IPv4-mapped IPv6) and DNS names pointing inwards are
otherwise trivial bypasses.

To defeat DNS rebinding (a name that resolves to a public IP during the
check and to 127.0.0.1 a second later), :func:`check_push_url` returns the
vetted addresses and the caller must connect to one of *those*, sending the
original host name only as Host header / TLS SNI (see
:meth:`ResolvedTarget.connect_url`).  Re-run the check before every delivery
rather than caching it for the lifetime of a subscription.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "PushURLRejected",
    "ResolvedTarget",
    "SSRFPolicy",
    "blocked_reason",
    "check_push_url",
    "check_push_url_async",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: ``resolver(host, port) -> [ip strings]``; injectable so tests never touch DNS.
Resolver = Callable[[str, int], Sequence[str]]

_N = ipaddress.ip_network
# Order matters: first match gives the reason reported.
_BLOCKED_V4: tuple[tuple[IPNetwork, str], ...] = (
    (_N("0.0.0.0/8"), "unspecified"),
    (_N("127.0.0.0/8"), "loopback"),
    (_N("10.0.0.0/8"), "private"),
    (_N("172.16.0.0/12"), "private"),
    (_N("192.168.0.0/16"), "private"),
    (_N("100.64.0.0/10"), "shared address space (CGNAT)"),
    (_N("169.254.0.0/16"), "link-local"),
    (_N("192.0.0.0/24"), "reserved (IETF protocol assignments)"),
    (_N("192.0.2.0/24"), "reserved (documentation)"),
    (_N("198.51.100.0/24"), "reserved (documentation)"),
    (_N("203.0.113.0/24"), "reserved (documentation)"),
    (_N("192.88.99.0/24"), "reserved (6to4 relay)"),
    (_N("198.18.0.0/15"), "reserved (benchmarking)"),
    (_N("224.0.0.0/4"), "multicast"),
    (_N("240.0.0.0/4"), "reserved"),
)
_BLOCKED_V6: tuple[tuple[IPNetwork, str], ...] = (
    (_N("::/128"), "unspecified"),
    (_N("::1/128"), "loopback"),
    (_N("::/96"), "reserved (IPv4-compatible)"),
    (_N("100::/64"), "reserved (discard)"),
    (_N("64:ff9b:1::/48"), "private (local-use NAT64)"),
    (_N("2001::/23"), "reserved (IETF protocol assignments)"),
    (_N("2001:db8::/32"), "reserved (documentation)"),
    (_N("3fff::/20"), "reserved (documentation)"),
    (_N("fc00::/7"), "private (unique local)"),
    (_N("fe80::/10"), "link-local"),
    (_N("fec0::/10"), "private (site-local)"),
    (_N("ff00::/8"), "multicast"),
)
_GLOBAL_UNICAST_V6 = _N("2000::/3")
_NAT64 = _N("64:ff9b::/96")
_MAPPED = _N("::ffff:0:0/96")
_HOST_RE = re.compile(
    r"^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$"
)
_DEFAULT_PORTS = {"https": 443, "http": 80}


class PushURLRejected(ValueError):
    """The URL must not be contacted.

    ``transient`` is true when the verdict may change by itself (DNS
    failure), so a delivery worker may retry, whereas PushSubscription/set
    should still refuse.  ``address`` holds the offending IP for server logs;
    it is deliberately kept out of ``str(exc)`` so error replies to clients
    don't become an oracle for internal DNS.
    """

    def __init__(self, message: str, *, transient: bool = False, address: str | None = None):
        super().__init__(message)
        self.transient = transient
        self.address = address


@dataclass(frozen=True)
class SSRFPolicy:
    """Operator configuration.

    ``allow_list`` entries are CIDRs / IP literals (exempting those
    addresses) or host names (exact, or ``*.example.com`` for subdomains)
    exempting every address that name resolves to: for self-hosted push
    relays such as ntfy on the LAN.
    """

    allow_http: bool = False
    allow_list: tuple[str, ...] = ()
    _networks: tuple[IPNetwork, ...] = field(init=False, repr=False, compare=False)
    _hosts: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.allow_list, str):
            raise TypeError("allow_list must be a sequence of strings, not a string")
        object.__setattr__(self, "allow_list", tuple(self.allow_list))
        nets: list[IPNetwork] = []
        hosts: set[str] = set()
        for raw in self.allow_list:
            entry = raw.strip()
            try:
                nets.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            name = entry.lower().rstrip(".")
            if not _HOST_RE.match(name):
                raise ValueError(
                    f"push allow-list entry is neither a CIDR nor a host name: {raw!r}"
                )
            hosts.add(name)
        object.__setattr__(self, "_networks", tuple(nets))
        object.__setattr__(self, "_hosts", frozenset(hosts))

    def host_allowed(self, host: str) -> bool:
        if host in self._hosts:
            return True
        return any(h.startswith("*.") and host.endswith(h[1:]) for h in self._hosts)

    def address_allowed(self, ip: IPAddress) -> bool:
        candidates = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        return any(c.version == n.version and c in n for c in candidates for n in self._networks)


@dataclass(frozen=True)
class ResolvedTarget:
    """A vetted push destination. Connect to ``addresses``, not to ``host``."""

    url: str
    scheme: str
    host: str  # lower-case ASCII (IDNA) host name or IP literal, no brackets
    port: int
    addresses: tuple[str, ...]  # vetted IPs in resolver order (try in turn)

    @property
    def address(self) -> str:
        return self.addresses[0]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == _DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    def connect_url(self, address: str | None = None) -> str:
        """The URL with its host replaced by a vetted IP.

        Send it with ``Host: <host_header>`` and, for https, TLS SNI and
        certificate verification against :attr:`host` (with httpx:
        ``extensions={"sni_hostname": target.host}``).
        """
        ip = address or self.address
        if ip not in self.addresses:
            raise ValueError("address was not vetted for this target")
        netloc = f"[{ip}]:{self.port}" if ":" in ip else f"{ip}:{self.port}"
        parts = urlsplit(self.url)
        return urlunsplit((self.scheme, netloc, parts.path or "/", parts.query, ""))


def blocked_reason(ip: IPAddress | str) -> str | None:
    """Why ``ip`` is not a public unicast address, or None if it is fine."""
    if isinstance(ip, str):
        ip = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        # Addresses that embed an IPv4 address are judged by that address.
        if ip in _MAPPED and ip.ipv4_mapped is not None:
            reason = blocked_reason(ip.ipv4_mapped)
            return f"IPv4-mapped {reason}" if reason else None
        if ip in _NAT64:
            reason = blocked_reason(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
            return f"NAT64 {reason}" if reason else None
        if ip.sixtofour is not None:
            reason = blocked_reason(ip.sixtofour)
            return f"6to4 {reason}" if reason else None
        table = _BLOCKED_V6
    else:
        table = _BLOCKED_V4
    for net, reason in table:
        if ip in net:
            return reason
    if isinstance(ip, ipaddress.IPv6Address) and ip not in _GLOBAL_UNICAST_V6:
        return "reserved (not global unicast)"
    if not ip.is_global:  # belt and braces: whatever the stdlib knows about
        return "not globally routable"
    return None


def _default_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    # sockaddr[0] is the address string for the TCP families asked for.
    return [str(info[4][0]) for info in infos]


def _parse(url: str, policy: SSRFPolicy) -> tuple[str, str, int]:
    if not isinstance(url, str) or not url:
        raise PushURLRejected("push URL must be a non-empty string")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise PushURLRejected("push URL contains whitespace or control characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and policy.allow_http):
        raise PushURLRejected("push URL must use https" + (" or http" if policy.allow_http else ""))
    if "@" in parts.netloc:
        raise PushURLRejected("push URL must not contain user information")
    host = parts.hostname
    if not host:
        raise PushURLRejected("push URL has no host")
    try:
        port = parts.port
    except ValueError as exc:
        raise PushURLRejected("push URL has an invalid port") from exc
    if port is None:
        port = _DEFAULT_PORTS[scheme]
    elif port == 0:
        raise PushURLRejected("push URL has an invalid port")
    host = host.rstrip(".")
    if _is_ip_literal(host):
        return scheme, host, port
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise PushURLRejected("push URL host is not a valid domain name") from exc
    if not _HOST_RE.match(host) or host.startswith("*"):
        raise PushURLRejected("push URL host is not a valid domain name")
    return scheme, host, port


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def check_push_url(
    url: str, policy: SSRFPolicy | None = None, *, resolver: Resolver | None = None
) -> ResolvedTarget:
    """Vet ``url`` and return where to connect; raise :class:`PushURLRejected` otherwise.

    Every resolved address must pass (not merely one): a name that mixes
    public and internal records is suspicious, and rejecting it keeps the
    rule simple to audit.
    """
    policy = policy or SSRFPolicy()
    scheme, host, port = _parse(url, policy)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        raw: Iterable[str] = [host]
    else:
        try:
            raw = (resolver or _default_resolver)(host, port)
        except (OSError, UnicodeError) as exc:
            raise PushURLRejected(f"cannot resolve push URL host {host!r}", transient=True) from exc
    addresses: list[str] = []
    host_ok = literal is None and policy.host_allowed(host)
    for text in raw:
        try:
            ip = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError as exc:
            raise PushURLRejected("resolver returned an invalid address", address=text) from exc
        reason = blocked_reason(ip)
        if reason and not host_ok and not policy.address_allowed(ip):
            raise PushURLRejected(
                f"push URL host resolves to a forbidden address ({reason})", address=str(ip)
            )
        if str(ip) not in addresses:
            addresses.append(str(ip))
    if not addresses:
        raise PushURLRejected(f"push URL host {host!r} has no addresses", transient=True)
    return ResolvedTarget(url=url, scheme=scheme, host=host, port=port, addresses=tuple(addresses))


async def check_push_url_async(
    url: str, policy: SSRFPolicy | None = None, *, resolver: Resolver | None = None
) -> ResolvedTarget:
    """:func:`check_push_url` off the event loop (getaddrinfo blocks)."""
    return await asyncio.to_thread(check_push_url, url, policy, resolver=resolver)
