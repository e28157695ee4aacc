"""`jmapd serve` terminating TLS itself (server.tls), reloading its certificate
on SIGHUP, and believing X-Forwarded-* only from server.trusted_proxies."""

import datetime
import ipaddress
import os
import signal
import socket
import ssl
import subprocess
import sys

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from jmapd.testing import ServeProcess, wait_for

CORE = "urn:ietf:params:jmap:core"


def make_cert(directory, common_name):
    """A self-signed certificate for 127.0.0.1, written as cert.pem/key.pem; returns its DER bytes."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def served_cert(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, ctx.wrap_socket(raw) as tls:
        return tls.getpeercert(binary_form=True)


def tls_yaml(directory):
    return f"  tls:\n    cert_file: {directory / 'cert.pem'}\n    key_file: {directory / 'key.pem'}\n"


def test_jmap_over_tls_and_certificate_reload(tmp_path, jmapd_database, jmap_server):
    pki = tmp_path / "pki"
    pki.mkdir()
    first = make_cert(pki, "first")
    trust = ssl.create_default_context(cafile=str(pki / "cert.pem"))
    server = ServeProcess(tmp_path, jmapd_database, workers=2, server_yaml=tls_yaml(pki), verify=trust).start()
    try:
        assert server.url.startswith("https://")
        user = jmap_server.make_user()
        with httpx.Client(verify=trust, auth=user, timeout=30) as http:
            session = http.get(server.url + "/.well-known/jmap").json()
            assert session["apiUrl"] == server.url + "/jmap/api"  # https, from the TLS connection itself
            resp = http.post(session["apiUrl"], json={"using": [CORE], "methodCalls": [["Core/echo", {"x": 1}, "0"]]})
            assert resp.json()["methodResponses"] == [["Core/echo", {"x": 1}, "0"]]
        # no plaintext on the TLS port
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{server.port}/readyz", timeout=5).raise_for_status()
        assert served_cert(server.port) == first
        # renew in place, SIGHUP the master: the workers restart gracefully with the new certificate
        second = make_cert(pki, "second")
        old_workers = set(server.worker_pids())
        os.kill(server.proc.pid, signal.SIGHUP)
        # every worker, not just the first to restart: new connections land on either
        wait_for(lambda: set(server.worker_pids()), lambda pids: len(pids) == 2 and not pids & old_workers, timeout=60)
        assert wait_for(lambda: {served_cert(server.port) for _ in range(12)}, lambda seen: seen == {second}, timeout=60) == {second}
        renewed = ssl.create_default_context(cafile=str(pki / "cert.pem"))
        assert httpx.get(server.url + "/.well-known/jmap", auth=user, verify=renewed, timeout=30).status_code == 200
    finally:
        server.stop()


def test_bad_certificate_stops_start_up_naming_it(tmp_path, jmapd_database):
    pki = tmp_path / "pki"
    pki.mkdir()
    make_cert(pki, "one")
    (pki / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n")
    server = ServeProcess(tmp_path, jmapd_database, server_yaml=tls_yaml(pki))
    proc = subprocess.run(
        [sys.executable, "-m", "jmapd.cli", "--config", str(server.config), "serve", "--bind", f"127.0.0.1:{server.port}"],
        capture_output=True, text=True, env=server._env(), timeout=120,
    )
    assert proc.returncode == 2
    assert f"server.tls: cannot load certificate {pki / 'cert.pem'} with key {pki / 'key.pem'}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_tls_needs_both_files(tmp_path):
    config = tmp_path / "jmapd.yaml"
    config.write_text("server:\n  tls:\n    cert_file: /etc/ssl/cert.pem\n")
    proc = subprocess.run(
        [sys.executable, "-m", "jmapd.cli", "--config", str(config), "config", "check"],
        capture_output=True, text=True, env={k: v for k, v in os.environ.items() if not k.startswith("JMAPD_")},
        timeout=60,
    )
    assert proc.returncode == 2 and "server.tls: set both cert_file and key_file" in proc.stderr


@pytest.mark.parametrize("trusted, scheme", [("[]", "http"), ("[127.0.0.1]", "https")])
def test_forwarded_headers_only_from_trusted_proxies(tmp_path, jmapd_database, jmap_server, trusted, scheme):
    """gunicorn's default would trust loopback even with an empty list."""
    server = ServeProcess(tmp_path, jmapd_database, workers=1, server_yaml=f"  trusted_proxies: {trusted}\n").start()
    try:
        user = jmap_server.make_user()
        session = httpx.get(
            server.url + "/.well-known/jmap", auth=user, timeout=30,
            headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"},
        ).json()
        assert session["apiUrl"] == f"{scheme}://127.0.0.1:{server.port}/jmap/api"
    finally:
        server.stop()
