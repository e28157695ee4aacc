"""Wiring recipe exercised end to end against a loopback-only HTTP push endpoint.

Shows how the delivery worker is meant to combine the modules: SSRF check ->
connect to the vetted IP with the original Host header -> VAPID + RFC 8291
body -> DeliveryPolicy on the status.
"""

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jmapd_events.domain.ssrf import SSRFPolicy, check_push_url
from jmapd_events.domain.statechange import (
    Action,
    DeliveryPolicy,
    encode,
    filter_types,
    state_change,
)
from jmapd_events.domain.vapid import VapidKey
from jmapd_events.domain.webpush import b64url_encode, decrypt, encrypt, push_headers


@pytest.fixture
def push_endpoint():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, dict(self.headers), body))
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], received
    server.shutdown()
    server.server_close()


def test_encrypted_vapid_push_to_pinned_address(push_endpoint):
    port, received = push_endpoint
    ua = ec.generate_private_key(ec.SECP256R1())
    keys = {
        "p256dh": b64url_encode(
            ua.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        ),
        "auth": b64url_encode(b"sixteen byte key"),
    }
    url = f"http://localhost:{port}/push/abc?d=1"
    vapid = VapidKey.generate()

    target = check_push_url(url, SSRFPolicy(allow_http=True, allow_list=("127.0.0.0/8", "::1")))
    change = filter_types(state_change({"a1": {"Email": "s2", "Thread": "t9"}}), ["Email"])
    body = encrypt(encode(change), keys["p256dh"], keys["auth"])
    headers = dict(
        push_headers(
            ttl=86400,
            encrypted=True,
            authorization=vapid.authorization_header(url, "mailto:ops@example.org"),
        )
    )
    headers["Host"] = target.host_header
    ipv4 = next((a for a in target.addresses if "." in a), None)
    if ipv4 is None:
        pytest.skip("localhost does not resolve to IPv4 here")
    with httpx.Client(follow_redirects=False, trust_env=False) as client:
        resp = client.post(target.connect_url(ipv4), content=body, headers=headers)

    assert DeliveryPolicy().decide(resp.status_code, 1).action is Action.DONE
    (path, got_headers, got_body) = received[0]
    assert path == "/push/abc?d=1"
    assert got_headers["Host"] == f"localhost:{port}"
    assert got_headers["Content-Encoding"] == "aes128gcm"
    assert got_headers["TTL"] == "86400"
    assert got_headers["Authorization"].startswith("vapid t=")
    assert (
        decrypt(got_body, ua, keys["auth"])
        == b'{"@type":"StateChange","changed":{"a1":{"Email":"s2"}}}'
    )
