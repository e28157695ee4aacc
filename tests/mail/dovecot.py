"""A real Dovecot IMAP server for the ``jmapd import imap`` tests.

One Dovecot per test session on a free loopback port, with a throw-away
configuration (plain-text auth on loopback, Maildir storage, SPECIAL-USE
folders, a passwd file that Dovecot re-reads when it changes, so each test
adds its own user). Optionally it also offers STARTTLS with a certificate
made here, and implicit TLS on a second port. When Dovecot is not installed the tests skip, naming the package.
"""

from __future__ import annotations

import datetime
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)
MISSING = "Dovecot is not installed (Debian: apt-get install dovecot-imapd; tests/run.sh does it as root)"

USERS = 50
CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
default_internal_user = {internal}
default_login_user = {login}
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
  }}
  mailbox "Sent Messages" {{
    special_use = \\Sent
  }}
  mailbox Papierkorb {{
    special_use = \\Trash
  }}
  mailbox Drafts {{
    special_use = \\Drafts
  }}
}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _certificate(root: Path) -> None:
    """A self-signed certificate for 127.0.0.1 (cert.pem is also the CA file the client trusts)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    (root / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (root / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))


@dataclass
class Dovecot:
    root: Path
    port: int
    #: Implicit TLS (imaps), with the certificate of :attr:`cafile`.
    tls_port: int
    process: subprocess.Popen[bytes]
    #: Users made at start, handed out one per test: Dovecot notices a changed passwd file only by its
    #: mtime in whole seconds, so adding users while it runs would race the tests.
    spare: list[tuple[str, str]] = field(default_factory=list)

    @property
    def cafile(self) -> str:
        return str(self.root / "cert.pem")

    def add_user(self) -> tuple[str, str]:
        """An IMAP user (login, password) no other test has used."""
        return self.spare.pop()

    def client(self, login: str, password: str):  # type: ignore[no-untyped-def]
        from imapclient import IMAPClient

        c = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=60)
        c.login(login, password)
        return c

    def log(self) -> str:
        try:
            return (self.root / "dovecot.log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def start() -> Dovecot:
    """Start Dovecot in the foreground (a child of the test process) and wait for its greeting."""
    assert DOVECOT is not None
    # A short path: Dovecot's unix sockets live under base_dir (sun_path is ~108 bytes).
    root = Path(tempfile.mkdtemp(prefix="dc", dir="/tmp"))
    os.chmod(root, 0o755)
    for d in ("run", "state", "home"):
        (root / d).mkdir()
    if os.geteuid() == 0:
        # Dovecot will not run mail processes as root: the mail user is nobody, its home made for it.
        internal, login_user = "dovecot", "dovenull"
        nobody = pwd.getpwnam("nobody")
        uid, gid = nobody.pw_uid, nobody.pw_gid
        os.chown(root / "home", uid, gid)
    else:
        internal = login_user = pwd.getpwuid(os.geteuid()).pw_name
        uid, gid = os.geteuid(), os.getegid()
    _certificate(root)
    spare = [(f"u{secrets.token_hex(4)}", secrets.token_urlsafe(12)) for _ in range(USERS)]
    (root / "users").write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in spare))
    os.chmod(root / "users", 0o644)
    port = tls_port = _free_port()
    while tls_port == port:
        tls_port = _free_port()
    (root / "dovecot.conf").write_text(CONFIG.format(root=root, port=port, tls_port=tls_port, uid=uid, gid=gid,
                                                     internal=internal, login=login_user))
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    server = Dovecot(root, port, tls_port, process, spare)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise RuntimeError(f"dovecot exited ({process.returncode}): {out}\n{server.log()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                if s.recv(100).startswith(b"* OK"):
                    return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"dovecot did not answer on port {port}:\n{server.log()}")
