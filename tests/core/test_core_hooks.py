"""Core hooks a plugin uses to extend the HTTP surface and the schema:
``jmapd_session_urls``, ``jmapd_middleware`` and the start-up check of
``jmapd_models``. Each is driven by a small plugin registered for the test."""

from __future__ import annotations

from typing import Any

import peewee as pw
import pytest

from jmapd import hookimpl
from jmapd.config import ConfigError
from jmapd.db import BaseModel


class _Plugin:
    def __init__(self, name: str) -> None:
        self.__name__ = name  # pluggy names a registered plugin by it


class SessionUrls(_Plugin):
    @hookimpl
    def jmapd_session_urls(self, base: str) -> dict[str, str]:
        return {"exampleUrl": f"{base}/example/{{accountId}}"}


class HeaderMiddleware:
    async def process_response(self, req: Any, resp: Any, resource: Any, req_succeeded: bool) -> None:
        resp.set_header("X-Example-Middleware", req.path)


class Middleware(_Plugin):
    @hookimpl
    def jmapd_middleware(self, config: Any, services: Any) -> list[Any]:
        return [HeaderMiddleware()]


class Unmigrated(BaseModel):
    note = pw.TextField()

    class Meta:
        table_name = "example_never_migrated"


class ForgetfulMigrations(_Plugin):
    @hookimpl
    def jmapd_models(self) -> list[Any]:
        return [Unmigrated]


def test_session_urls_come_from_plugins(make_server):
    server = make_server({}, [SessionUrls("urls")])
    session = server.client().session
    assert session["exampleUrl"] == f"{server.url}/example/{{accountId}}"
    assert session["eventSourceUrl"].startswith(f"{server.url}/jmap/eventsource?")  # the events plugin's


def test_no_event_source_url_without_the_events_plugin(make_server):
    session = make_server({"capabilities": ["mail"]}).client().session
    assert "eventSourceUrl" not in session  # the core does not name the events plugin's route
    assert session["apiUrl"] == f"{session['apiUrl'].rsplit('/jmap/', 1)[0]}/jmap/api"


def test_middleware_hook_wraps_every_request(make_server):
    server = make_server({}, [Middleware("mw")])
    client = server.client()
    assert client.http.get("/.well-known/jmap").headers["X-Example-Middleware"] == "/.well-known/jmap"
    assert client.post({"using": [], "methodCalls": []}).headers["X-Example-Middleware"] == "/jmap/api"


def test_middleware_absent_without_the_plugin(client):
    assert "X-Example-Middleware" not in client.http.get("/.well-known/jmap").headers


def test_declared_model_without_a_table_stops_start_up(make_server):
    with pytest.raises(ConfigError, match=r"example_never_migrated \(plugin 'forgetful'\).*jmapd migrate"):
        make_server({}, [ForgetfulMigrations("forgetful")])


def test_every_in_tree_models_table_exists(jmap_server):
    from jmapd.db import database
    from jmapd.migrate import missing_tables

    declared = [m for r in jmap_server.services.hook.jmapd_models() for m in r or []]
    assert len(declared) > 10  # the check looks at real declarations
    assert missing_tables(jmap_server.services.pm, database.obj) == []


def test_config_section_by_schema_class(jmap_server):
    from jmapd_example.config import NotesConfig

    cfg = jmap_server.services.config
    assert cfg.section(NotesConfig) is cfg.section("example")
    assert isinstance(cfg.section(NotesConfig), NotesConfig)

    class NotDeclared:
        pass

    with pytest.raises(KeyError, match="NotDeclared"):
        cfg.section(NotDeclared)


def test_extension_keys_are_typed_and_distinct():
    from jmapd.services import ExtensionKey, Extensions

    ext = Extensions()
    first: ExtensionKey[int] = ExtensionKey("same.name")
    second: ExtensionKey[int] = ExtensionKey("same.name")
    ext[first] = 1
    assert ext[first] == 1 and ext.get(second) is None  # keys compare by identity, not name
    assert first in ext and second not in ext
    assert ext.setdefault(second, 2) == 2 and ext.pop(first) == 1 and ext.get(first) is None


def test_typed_facade_merges_session_urls(make_server):
    server = make_server({}, [SessionUrls("urls")])
    urls = server.services.hooks.session_urls(server.services.config, "https://h")
    assert urls["exampleUrl"] == "https://h/example/{accountId}"
    assert urls["eventSourceUrl"].startswith("https://h/jmap/eventsource?")
