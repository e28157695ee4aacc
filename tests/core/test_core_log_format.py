"""``log.format``: one format (JSON lines or text) for every logger jmapd's processes write."""

import logging
import sys

import httpx
import orjson
import pytest

from jmapd.config import ConfigError, load
from jmapd.logformat import LogFormatter
from jmapd.testing import ServeProcess


def record(msg, *args, exc_info=None, **extra):
    rec = logging.LogRecord("jmapd.test", logging.WARNING, __file__, 1, msg, args, exc_info)
    rec.__dict__.update(extra)
    return rec


def test_json_line_has_time_level_logger_message_exception_and_extra_fields():
    try:
        raise ValueError("bad")
    except ValueError:
        exc_info = sys.exc_info()
    line = LogFormatter("json").format(record("%d calls", 2, exc_info=exc_info, user="alice", calls=["Core/echo"]))
    assert "\n" not in line  # one line, the traceback escaped inside
    entry = orjson.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "jmapd.test" and entry["message"] == "2 calls"
    assert entry["time"].endswith("+00:00") and "T" in entry["time"]
    assert "ValueError: bad" in entry["exception"]
    assert entry["user"] == "alice" and entry["calls"] == ["Core/echo"]
    # an extra field never overwrites the standard ones
    assert orjson.loads(LogFormatter("json").format(record("m", level="x")))["level"] == "WARNING"


def test_text_line_keeps_the_classic_form_and_appends_extra_fields():
    line = LogFormatter("text").format(record("GET %s", "/jmap/api", user="alice"))
    assert " WARNING jmapd.test: GET /jmap/api " in line and line.endswith('{"user":"alice"}')
    assert LogFormatter("text").format(record("plain")).endswith("jmapd.test: plain")


def test_an_unknown_format_names_the_key():
    with pytest.raises(ConfigError, match="log.format: expected text or json, got 'xml'"):
        load({"log": {"format": "xml"}}, {})


def test_serve_writes_only_json_lines(tmp_path, jmapd_database, jmap_server):
    """Master (gunicorn), workers (gunicorn, uvicorn, jmapd) and the access log: all JSON."""
    served = ServeProcess(tmp_path, jmapd_database, workers=1, extra_yaml="log:\n  format: json\n").start()
    try:
        user = jmap_server.make_user()
        resp = httpx.post(
            served.url + "/jmap/api", auth=user, timeout=30,
            json={"using": ["urn:ietf:params:jmap:core"], "methodCalls": [["Core/echo", {}, "0"]]},
        )
        assert resp.status_code == 200
    finally:
        served.stop()
    lines = served.proc.stderr.read().decode().splitlines()
    entries = [orjson.loads(line) for line in lines]  # every line: a JSON object
    loggers = {e["logger"] for e in entries}
    assert {"gunicorn.error", "uvicorn.error", "jmapd.access"} <= loggers
    assert "uvicorn.access" not in loggers  # jmapd.access is the one line per request
    assert any(e["logger"] == "gunicorn.error" and "Booting worker" in e["message"] for e in entries)
    api = [e for e in entries if e["logger"] == "jmapd.access" and e.get("path") == "/jmap/api"]
    assert api and api[-1]["calls"] == ["Core/echo"] and api[-1]["user"] == user[0] and api[-1]["status"] == 200
