"""The one log format (``log.format``) for every handler jmapd installs.

jmapd's own loggers, gunicorn's (master and workers) and uvicorn's all go
through :class:`LogFormatter`, so a log shipper sees one kind of line: JSON
objects, or plain text, never the two interleaved.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
# uvicorn's ``color_message`` is the message again, with terminal colours.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class LogFormatter(logging.Formatter):
    """``json``: one object a line (time in ISO 8601 UTC, level, logger,
    message, exception text, and the record's ``extra`` fields at top level,
    so a shipper need not parse the message). ``text``: the classic line, with
    the extra fields appended as one JSON object."""

    def __init__(self, format: str = "text") -> None:
        super().__init__(TEXT_FORMAT)
        self.json = format == "json"

    def format(self, record: logging.LogRecord) -> str:
        extra = extra_fields(record)
        if not self.json:
            line = super().format(record)
            return line + " " + orjson.dumps(extra, default=str).decode() if extra else line
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        for key, value in extra.items():
            entry.setdefault(key, value)
        return orjson.dumps(entry, default=str).decode()


def configure(format: str, level: str) -> None:
    """Root logging for a jmapd process (CLI, LMTP listener, worker):
    stderr through :class:`LogFormatter`. Like ``basicConfig``, a root that
    already has someone else's handlers (gunicorn's, configured by
    :func:`gunicorn_logconfig`, or pytest's) is left as it is; jmapd's own
    handler is replaced, so the CLI can set the format once the
    configuration is read."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_jmapd", False):
            root.removeHandler(handler)
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogFormatter(format))
    handler._jmapd = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)


def gunicorn_logconfig(format: str, level: str) -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: the master's and workers' root,
    and ``gunicorn.error`` (whose handlers uvicorn's worker lends to
    ``uvicorn.error``) on one stderr handler with :class:`LogFormatter`. gunicorn re-applies it on SIGHUP.
    gunicorn's own defaults are replaced key by key, so every key is given."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"jmapd": {"()": "jmapd.logformat.LogFormatter", "format": format}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "jmapd", "stream": "ext://sys.stderr"}
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
            # no handler, as with gunicorn's accesslog unset: jmapd.access is the one line per request
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
        },
    }
