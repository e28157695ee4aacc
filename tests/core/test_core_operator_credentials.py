"""Credentials take effect at once: a changed password, a revoked app password
or a disabled user is refused on the very next request on every worker, while
a remembered password still costs no Argon2 run."""

import httpx
import pytest

from jmapd import auth as auth_mod
from jmapd.testing import ServeProcess

CORE = "urn:ietf:params:jmap:core"
#: Fresh connections per request, so gunicorn spreads them over its workers:
#: a worker still remembering the old password would let some of them in.
TRIES = 24


def status(url, auth=None, headers=None):
    return httpx.get(url + "/.well-known/jmap", auth=auth, headers=headers, timeout=30).status_code


def statuses(url, **kwargs):
    return {status(url, **kwargs) for _ in range(TRIES)}


@pytest.fixture
def served(tmp_path, jmapd_database):
    server = ServeProcess(tmp_path, jmapd_database, workers=2).start()
    yield server
    server.stop()


def test_password_change_refuses_the_old_password_on_every_worker(served):
    name = "op-" + served.url.rsplit(":", 1)[1]
    served.cli("user", "add", name, "--password-stdin", stdin="old-secret\n")
    assert statuses(served.url, auth=(name, "old-secret")) == {200}  # remembered by both workers
    served.cli("user", "passwd", name, "--password-stdin", stdin="new-secret\n")
    assert statuses(served.url, auth=(name, "old-secret")) == {401}
    assert statuses(served.url, auth=(name, "new-secret")) == {200}


def test_revoked_app_password_is_refused_at_once(served):
    name = "tok-" + served.url.rsplit(":", 1)[1]
    served.cli("user", "add", name, "--password-stdin", stdin="pw-1234\n")
    token = served.cli("token", "create", name, "phone").strip()
    bearer = {"Authorization": f"Bearer {token}"}
    assert statuses(served.url, headers=bearer) == {200}
    assert statuses(served.url, auth=(name, token)) == {200}  # as the Basic password
    served.cli("token", "revoke", "phone", "--user", name)
    assert statuses(served.url, headers=bearer) == {401}
    assert statuses(served.url, auth=(name, token)) == {401}
    assert statuses(served.url, auth=(name, "pw-1234")) == {200}


def test_disable_and_enable_take_effect_at_once(served):
    name = "dis-" + served.url.rsplit(":", 1)[1]
    served.cli("user", "add", name, "--password-stdin", stdin="pw-5678\n")
    token = served.cli("token", "create", name, "laptop").strip()
    bearer = {"Authorization": f"Bearer {token}"}
    assert statuses(served.url, auth=(name, "pw-5678")) == {200}
    assert "disabled" in served.cli("user", "disable", name)
    assert statuses(served.url, auth=(name, "pw-5678")) == {401}
    assert statuses(served.url, headers=bearer) == {401}
    assert f"{name} (disabled)" in served.cli("user", "list").splitlines()
    served.cli("user", "enable", name)
    assert statuses(served.url, auth=(name, "pw-5678")) == {200}
    assert statuses(served.url, headers=bearer) == {200}


def test_deleted_user_is_refused_at_once(served):
    name = "del-" + served.url.rsplit(":", 1)[1]
    served.cli("user", "add", name, "--password-stdin", stdin="pw-9\n")
    assert statuses(served.url, auth=(name, "pw-9")) == {200}
    served.cli("user", "delete", name)
    assert statuses(served.url, auth=(name, "pw-9")) == {401}


def test_remembered_password_needs_no_hash_until_it_changes(make_server, monkeypatch):
    """The cache stays (verification stays cheap); it is keyed on the stored hash too."""
    from jmapd.db import ensure_connected
    from jmapd.models import User

    server = make_server()
    name, password = server.make_user()
    calls = []
    real = auth_mod.verify_password

    def counting(stored, given):
        calls.append(given)
        return real(stored, given)

    monkeypatch.setattr(auth_mod, "verify_password", counting)
    for _ in range(5):
        assert status(server.url, auth=(name, password)) == 200
    assert len(calls) == 1
    ensure_connected()
    User.update(password_hash=auth_mod.hash_password("changed")).where(User.name == name).execute()
    assert status(server.url, auth=(name, password)) == 401
    assert status(server.url, auth=(name, "changed")) == 200
    assert status(server.url, auth=(name, "changed")) == 200
    assert len(calls) == 3  # the old one re-verified (and refused), the new one once


def test_disable_cli_names_a_missing_user(served):
    import subprocess

    with pytest.raises(subprocess.CalledProcessError) as info:
        served.cli("user", "disable", "nobody-here")
    assert "no user nobody-here" in info.value.stderr
