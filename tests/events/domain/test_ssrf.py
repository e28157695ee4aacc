"""Tests for push-URL SSRF admission. No external name is ever resolved."""

import asyncio
import socket

import pytest
from jmapd_events.domain.ssrf import (
    PushURLRejected,
    SSRFPolicy,
    blocked_reason,
    check_push_url,
    check_push_url_async,
)

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"


def fake_resolver(table):
    calls = []

    def resolve(host, port):
        calls.append((host, port))
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "not found")
        return table[host]

    resolve.calls = calls
    return resolve


def numeric_only(host, port):
    """Real getaddrinfo, but forbidden from doing DNS: proves numeric tricks get normalised."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    return [i[4][0] for i in infos]


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "CGNAT"),
        ("100.127.255.254", "CGNAT"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.10", "documentation"),
        ("198.18.0.1", "benchmarking"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fc00::1", "unique local"),
        ("fd12:3456::1", "unique local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
        ("::ffff:169.254.169.254", "IPv4-mapped link-local"),
        ("::ffff:10.0.0.1", "IPv4-mapped private"),
        ("64:ff9b::a00:1", "NAT64 private"),
        ("2002:7f00:1::", "6to4 loopback"),
        ("2001:db8::1", "documentation"),
        ("2001::1", "IETF"),  # Teredo
        ("::127.0.0.1", "IPv4-compatible"),
        ("4000::1", "not global unicast"),
    ],
)
def test_blocked_reason(ip, reason):
    got = blocked_reason(ip)
    assert got is not None and reason in got


@pytest.mark.parametrize(
    "ip",
    [
        PUBLIC_V4,
        "8.8.8.8",
        "1.1.1.1",
        "100.63.255.255",
        "100.128.0.0",
        "172.32.0.1",
        PUBLIC_V6,
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
    ],
)
def test_public_addresses_pass(ip):
    assert blocked_reason(ip) is None


def test_public_literal_ip_accepted_without_resolving():
    res = fake_resolver({})
    t = check_push_url(f"https://{PUBLIC_V4}/push?x=1", resolver=res)
    assert res.calls == []
    assert (t.scheme, t.host, t.port, t.addresses) == ("https", PUBLIC_V4, 443, (PUBLIC_V4,))
    assert t.connect_url() == f"https://{PUBLIC_V4}:443/push?x=1"
    assert t.host_header == PUBLIC_V4


def test_public_ipv6_literal():
    t = check_push_url(f"https://[{PUBLIC_V6}]:8443/p")
    assert t.address == PUBLIC_V6
    assert t.connect_url() == f"https://[{PUBLIC_V6}]:8443/p"
    assert t.host_header == f"[{PUBLIC_V6}]:8443"


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[fe80::1]/",
        "https://10.0.0.1:8443/",
        "https://100.64.1.1/",
        "https://0.0.0.0/",
    ],
)
def test_internal_literals_rejected(url):
    with pytest.raises(PushURLRejected, match="forbidden address") as ei:
        check_push_url(url)
    assert ei.value.address is not None
    assert ei.value.address not in str(ei.value)  # no oracle for clients
    assert not ei.value.transient


@pytest.mark.parametrize("host", ["127.1", "0x7f000001", "2130706433", "017700000001"])
def test_numeric_tricks_are_judged_after_resolution(host):
    with pytest.raises(PushURLRejected, match="loopback"):
        check_push_url(f"https://{host}/", resolver=numeric_only)


def test_localhost_rejected_by_default():
    # Resolved through the system resolver: /etc/hosts, never the network.
    with pytest.raises(PushURLRejected, match="loopback"):
        check_push_url("https://localhost/push")


def test_localhost_allowed_by_hostname_allow_list():
    t = check_push_url("https://localhost:8443/push", SSRFPolicy(allow_list=("localhost",)))
    assert t.host == "localhost" and t.port == 8443
    assert all(blocked_reason(a) for a in t.addresses)  # loopback, but allowed
    assert t.host_header == "localhost:8443"


def test_cidr_allow_list():
    policy = SSRFPolicy(allow_list=("10.0.0.0/8", "127.0.0.1"))
    assert check_push_url("https://10.2.3.4/", policy).address == "10.2.3.4"
    assert check_push_url("https://[::ffff:10.2.3.4]/", policy).address == "::ffff:a02:304"
    assert check_push_url("https://127.0.0.1/", policy).address == "127.0.0.1"
    with pytest.raises(PushURLRejected):
        check_push_url("https://127.0.0.2/", policy)
    with pytest.raises(PushURLRejected):
        check_push_url("https://192.168.0.1/", policy)


def test_wildcard_host_allow_list():
    res = fake_resolver({"ntfy.lan.example": ["192.168.1.5"], "lan.example": ["192.168.1.6"]})
    policy = SSRFPolicy(allow_list=("*.lan.example",))
    assert (
        check_push_url("https://NTFY.lan.example./x", policy, resolver=res).address == "192.168.1.5"
    )
    with pytest.raises(PushURLRejected):
        check_push_url("https://lan.example/x", policy, resolver=res)


def test_name_resolving_to_internal_rejected():
    res = fake_resolver({"rebind.example": ["169.254.169.254"]})
    with pytest.raises(PushURLRejected, match="link-local"):
        check_push_url("https://rebind.example/x", resolver=res)


def test_mixed_public_and_private_records_rejected():
    res = fake_resolver({"mixed.example": [PUBLIC_V4, "10.0.0.1"]})
    with pytest.raises(PushURLRejected, match="private"):
        check_push_url("https://mixed.example/", resolver=res)


def test_name_resolution_returns_pinned_addresses():
    res = fake_resolver({"push.example": [PUBLIC_V6, PUBLIC_V4, PUBLIC_V4]})
    t = check_push_url("https://Push.Example/wpush/abc?y=2#frag", resolver=res)
    assert res.calls == [("push.example", 443)]
    assert t.addresses == (PUBLIC_V6, PUBLIC_V4)
    assert t.connect_url(PUBLIC_V4) == f"https://{PUBLIC_V4}:443/wpush/abc?y=2"
    assert t.host == "push.example" and t.host_header == "push.example"
    with pytest.raises(ValueError):
        t.connect_url("127.0.0.1")  # only vetted addresses


def test_idn_host_is_punycoded():
    res = fake_resolver({"xn--bcher-kva.example": [PUBLIC_V4]})
    assert check_push_url("https://bücher.example/", resolver=res).host == "xn--bcher-kva.example"


def test_resolution_failure_is_transient():
    with pytest.raises(PushURLRejected, match="resolve") as ei:
        check_push_url("https://nowhere.example/", resolver=fake_resolver({}))
    assert ei.value.transient


def test_empty_resolution_rejected():
    with pytest.raises(PushURLRejected, match="no addresses"):
        check_push_url("https://empty.example/", resolver=fake_resolver({"empty.example": []}))


def test_http_needs_flag():
    with pytest.raises(PushURLRejected, match="https"):
        check_push_url(f"http://{PUBLIC_V4}/")
    t = check_push_url(f"http://{PUBLIC_V4}/", SSRFPolicy(allow_http=True))
    assert t.port == 80 and t.connect_url() == f"http://{PUBLIC_V4}:80/"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://push.example/",
        "file:///etc/passwd",
        "//push.example/",
        "https://",
        "https://user:pw@push.example/",
        "https://push.example@127.0.0.1/",
        "https://push.example:0/",
        "https://push.example:70000/",
        "https://push.example/a b",
        "https://push.example/\r\nX-Injected: 1",
        "https://bad_host!.example/",
        "https://*.example/",
    ],
)
def test_malformed_urls_rejected(url):
    res = fake_resolver({"push.example": [PUBLIC_V4]})
    with pytest.raises(PushURLRejected):
        check_push_url(url, resolver=res)


def test_policy_validation():
    with pytest.raises(ValueError, match="allow-list"):
        SSRFPolicy(allow_list=("not a host!",))
    with pytest.raises(TypeError):
        SSRFPolicy(allow_list="10.0.0.0/8")
    assert SSRFPolicy(allow_list=["fd00::/8", "Push.LAN"]).host_allowed("push.lan")


def test_rejection_is_value_error():
    assert issubclass(PushURLRejected, ValueError)


def test_async_variant():
    res = fake_resolver({"push.example": [PUBLIC_V4]})
    t = asyncio.run(check_push_url_async("https://push.example/", resolver=res))
    assert t.address == PUBLIC_V4
