"""YAML configuration: one file, typed sections, environment overrides.

Each section is a dataclass whose fields carry a ``doc`` in their metadata;
the same schema validates the file, documents it (``jmapd config sample``)
and names the bad key in the error, so an operator never meets a stack
trace for a typo. Plugins add sections through ``jmapd_config_schema``.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, overload

import yaml

S = TypeVar("S")

ENV_PREFIX = "JMAPD_"


class ConfigError(ValueError):
    """A configuration problem, with the dotted key path at fault."""


def doc(text: str, default: Any = dataclasses.MISSING, factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field with a one-line doc used by validation and samples."""
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata={"doc": text})
    return field(default=default, metadata={"doc": text})


@dataclass
class TlsConfig:
    cert_file: str | None = doc(
        "PEM certificate chain for `jmapd serve` to terminate TLS itself (null: plain HTTP, e.g. behind a proxy). "
        "Reloaded on SIGHUP.", None
    )
    key_file: str | None = doc("PEM private key of cert_file (both or neither).", None)


@dataclass
class ServerConfig:
    bind: str = doc("HOST:PORT that `jmapd serve` listens on.", "127.0.0.1:8080")
    workers: int = doc("Worker processes started by `jmapd serve`.", 2)
    threads: int = doc("Threads per worker running method code off the event loop.", 16)
    base_url: str | None = doc(
        "Public base URL (https://jmap.example.com). Null: derived from each request's Host.",
        None,
    )
    data_dir: str = doc("Where the SQLite file and blobs live by default.", "./jmapd-data")
    trusted_proxies: list[str] = doc(
        "Peers whose X-Forwarded-For / X-Forwarded-Proto are believed.", factory=list
    )
    tls: TlsConfig = doc("TLS termination by `jmapd serve` itself.", factory=TlsConfig)
    cors_origins: list[str] = doc(
        "Origins of web clients allowed to call the API from a browser (CORS); [\"*\"]: any.",
        factory=lambda: ["*"],
    )


@dataclass
class ConnectionsConfig:
    header_timeout: float = doc(
        "Seconds a client has to send a whole request head (from connecting, or from its first byte after an "
        "idle keep-alive pause) before the connection is closed (slowloris).", 10.0
    )
    max_per_address: int = doc(
        "Open connections one client address (IPv6: one /64) may hold per worker; more are answered 429 and "
        "closed. server.trusted_proxies are exempt.", 128
    )
    max_per_worker: int = doc(
        "Open connections per worker before new ones are answered 503 and closed (0: the descriptor limit, "
        "raised to the hard limit, less a reserve).", 0
    )
    http_parser: str = doc(
        "HTTP/1.1 request parser: `httptools` (llhttp, in C; the faster) or `h11` (uvicorn's pure Python one)."
        " Both get the header deadline and the caps above.", "httptools"
    )


@dataclass
class DatabaseConfig:
    url: str | None = doc(
        "sqlite:///path/file.db or postgresql://user@host:5432/db. Null: SQLite in data_dir.",
        None,
    )
    statement_timeout: float = doc(
        "Seconds one database statement of a JMAP request may run before its method call is answered"
        " with an error (PostgreSQL statement_timeout, SQLite progress handler); 0: no limit.",
        10.0,
    )


@dataclass
class BlobConfig:
    store: str = doc("Where blob bytes live: `filesystem` or `database` (multi-host).", "filesystem")
    path: str | None = doc("Directory of the filesystem store. Null: data_dir/blobs.", None)
    inline_max: int = doc(
        "Filesystem store: a blob written on its own (an upload, a delivered message) of at most this many"
        " octets is kept in the database, durable with the same commit as its rows (one fsync instead of"
        " four); 0: every blob is a file.", 65536,
    )
    unreferenced_ttl: int = doc(
        "Seconds an upload no object references is kept before `jmapd gc` removes it.", 86400
    )


@dataclass
class LimitsConfig:
    max_size_upload: int = doc("Largest upload, in octets.", 50_000_000)
    max_concurrent_upload: int = doc("Uploads one user may run at once.", 4)
    max_size_request: int = doc("Largest API request body, in octets.", 10_000_000)
    max_concurrent_requests: int = doc("API requests one user may run at once.", 8)
    max_calls_in_request: int = doc("Method calls in one API request.", 64)
    max_objects_in_get: int = doc("Objects one /get may return.", 1000)
    max_objects_in_set: int = doc("Creates+updates+destroys one /set may hold.", 1000)
    max_query_limit: int = doc("Largest `limit` a /query answers with.", 5000)
    max_changes: int = doc("Ids a /changes returns when the client gives no maxChanges.", 5000)


@dataclass
class ChangesConfig:
    horizon_days: int = doc(
        "Days of change log kept; /changes from an older state is cannotCalculateChanges.", 60
    )
    maintenance_interval: int = doc(
        "Seconds between automatic change-log pruning and blob collection (per worker; 0: off).", 3600
    )


@dataclass
class AuthConfig:
    realm: str = doc("Realm in WWW-Authenticate.", "jmapd")
    failure_threshold: int = doc("Failed logins before responses slow down.", 5)
    failure_window: int = doc("Seconds over which failures are counted.", 300)
    max_delay: float = doc("Longest delay, in seconds, added to a failing login.", 5.0)
    cache_seconds: int = doc("Seconds a verified password is remembered in a worker.", 300)
    verify_wait: float = doc(
        "Seconds a login waits for a password-hash slot (two per worker, `verify_slots` per host)"
        " before a 503 with Retry-After.", 2.0
    )
    verify_slots: int = doc(
        "Password verifications (Argon2) running at once on this host, over all workers; 0: one per four cores.", 0
    )
    verify_rest: float = doc(
        "After a failed verification its host slot rests this many times as long as the hash took,"
        " so guessing holds at most 1/(1 + rest) of it; right passwords rest nothing.", 3.0
    )


@dataclass
class LogConfig:
    level: str = doc("Log level: DEBUG, INFO, WARNING, ERROR.", "INFO")
    access_log: bool = doc("One line per HTTP request (method, path, status, ms, user, JMAP method names).", True)
    format: str = doc(
        "text: classic lines; json: one JSON object per line (time, level, logger, message, exception,"
        " fields), for jmapd's, gunicorn's and uvicorn's loggers alike.",
        "text",
    )

    def __post_init__(self) -> None:
        if self.format not in ("text", "json"):
            raise ConfigError(f"log.format: expected text or json, got {self.format!r}")


@dataclass
class MetricsConfig:
    enabled: bool = doc("Serve /metrics in the Prometheus text format.", False)
    token: str | None = doc(
        "Bearer token a scraper must send (Authorization: Bearer ...). Null: only loopback clients are answered.",
        None,
    )


@dataclass
class QuotaConfig:
    storage: int | None = doc("Default storage hard limit of every account, in octets (null: none).", None)
    counts: dict[str, int] = doc(
        "Default hard limits on objects per account by type name, e.g. {Email: 100000, ContactCard: 10000}.",
        factory=dict,
    )
    warn_percent: int = doc("warnLimit as a percentage of each hardLimit.", 90)
    soft_percent: int | None = doc("softLimit as a percentage of each hardLimit (null: none).", None)
    domain_storage: dict[str, int] = doc(
        "Storage hard limits, in octets, shared by every account of a domain (the part of user names after @).",
        factory=dict,
    )
    global_storage: int | None = doc("Storage hard limit, in octets, of the whole server (null: none).", None)


@dataclass
class CoreConfig:
    """The whole configuration: core sections plus one per enabled plugin."""

    capabilities: list[str] | None = doc(
        "Plugins to enable by entry-point name (mail, submission, ...). Null: all installed.",
        None,
    )
    server: ServerConfig = doc("HTTP server.", factory=ServerConfig)
    connections: ConnectionsConfig = doc("Connection timeouts and caps of `jmapd serve`.", factory=ConnectionsConfig)
    database: DatabaseConfig = doc("Storage.", factory=DatabaseConfig)
    blobs: BlobConfig = doc("Binary data.", factory=BlobConfig)
    limits: LimitsConfig = doc("Limits advertised in the session and enforced.", factory=LimitsConfig)
    changes: ChangesConfig = doc("Change log.", factory=ChangesConfig)
    auth: AuthConfig = doc("Authentication.", factory=AuthConfig)
    log: LogConfig = doc("Logging.", factory=LogConfig)
    metrics: MetricsConfig = doc("Prometheus metrics at /metrics.", factory=MetricsConfig)
    quota: QuotaConfig = doc("Quotas (RFC 9425); `jmapd quota set` overrides per account.", factory=QuotaConfig)
    #: Plugin sections by name, filled in once the plugins are known.
    plugins: dict[str, Any] = field(default_factory=dict, metadata={"internal": True})
    #: Where the file came from, for messages.
    source: str | None = field(default=None, metadata={"internal": True})
    #: Sections of installed plugins that are not enabled: accepted, not applied.
    inactive_sections: list[str] = field(default_factory=list, metadata={"internal": True})

    @property
    def data_dir(self) -> Path:
        return Path(self.server.data_dir)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir / 'jmapd.sqlite3'}"

    @property
    def blob_path(self) -> Path:
        return Path(self.blobs.path) if self.blobs.path else self.data_dir / "blobs"

    @overload
    def section(self, name: type[S]) -> S: ...

    @overload
    def section(self, name: str) -> Any: ...

    def section(self, name: type[S] | str) -> S | Any:
        """A plugin's validated section (its dataclass instance).

        Pass the schema class (``config.section(MailConfig)``) to get a value
        a type checker knows; a name (``config.section("mail")``) gives
        ``Any``. A class no enabled plugin declared is a ``KeyError``.
        """
        if isinstance(name, str):
            return self.plugins[name]
        for value in self.plugins.values():
            if type(value) is name:
                return value
        raise KeyError(f"no enabled plugin declares the config section {name.__name__}")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def coerce(value: Any, tp: Any, path: str) -> Any:
    """Check ``value`` against a field type, building nested dataclasses."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return coerce(value, option, path)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{path}: bad value {value!r}")
    if dataclasses.is_dataclass(tp):
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {type(value).__name__}")
        return build(tp, value, path)
    if origin is list:
        (item_tp,) = typing.get_args(tp) or (Any,)
        if not isinstance(value, list):
            raise ConfigError(f"{path}: expected a list, got {value!r}")
        return [coerce(v, item_tp, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{path}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{path}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{path}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{path}: expected a string, got {value!r}")
    raise ConfigError(f"{path}: unsupported type {_type_name(tp)}")


def build(cls: Any, data: dict[str, Any], path: str = "") -> Any:
    """Instantiate a config dataclass from a mapping, rejecting unknown keys."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"{path}.{unknown[0]}" if path else unknown[0]
        raise ConfigError(f"{where}: unknown key (expected one of: {', '.join(sorted(fields))})")
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = coerce(value, hints[name], f"{path}.{name}" if path else name)
    return cls(**kwargs)


def _set_path(data: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        nxt = data.get(key)
        if not isinstance(nxt, dict):
            nxt = {}
            data[key] = nxt
        data = nxt
    data[keys[-1]] = value


#: ``JMAPD_*`` variables that are not configuration keys but mean something
#: to jmapd itself (or to its test harness).
ENV_RESERVED = frozenset({"JMAPD_CONFIG", "JMAPD_DATA_DIR", "JMAPD_TEST_DATABASE"})


def _field_type(cls: Any, key: str) -> Any:
    """The type of ``cls``'s configurable field ``key``, or None."""
    names = {f.name for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    return typing.get_type_hints(cls)[key] if key in names else None


def _env_key_type(keys: list[str], plugin_schemas: dict[str, Any]) -> Any:
    """The type of the key a variable's path names; None if it names none.

    The path is walked through the schemas, not guessed from its shape, so
    ``JMAPD_VENV`` or ``JMAPD_BIND`` (a launcher's own variables) are told
    apart from ``JMAPD_SERVER__BIND``.
    """
    tp = plugin_schemas.get(keys[0]) or _field_type(CoreConfig, keys[0])
    if tp is None:
        return None
    for key in keys[1:]:
        options = [t for t in typing.get_args(tp) if t is not type(None)] or [tp]
        tp = options[0] if len(options) == 1 else tp
        if dataclasses.is_dataclass(tp):
            tp = _field_type(tp, key)
            if tp is None:
                return None
        elif typing.get_origin(tp) is dict:
            tp = (typing.get_args(tp) or (Any, Any))[1]
        else:
            return None
    return tp


def env_value(name: str, raw: str, tp: Any, path: str) -> Any:
    """One variable's value, checked against its key's type.

    Read as a YAML scalar (numbers, booleans, lists), except that a string
    key takes the text as it is, so ``JMAPD_AUTH__REALM=yes`` is the string
    ``yes``. A bad value is an error naming the variable and its key.
    """
    label = f"{name} ({path})"
    options = typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) else (tp,)
    if str in options and raw.strip() not in ("null", "~", ""):
        return raw
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError:
        raise ConfigError(f"{label}: not a valid YAML value: {raw!r}") from None
    try:
        coerce(value, tp, path)
    except ConfigError as exc:
        raise ConfigError(f"{label}: {str(exc).removeprefix(path + ': ')}") from None
    return value


def env_overrides(
    environ: typing.Mapping[str, str], plugin_schemas: dict[str, Any], inactive: typing.Collection[str] = ()
) -> tuple[dict[str, Any], list[str]]:
    """``JMAPD_LIMITS__MAX_SIZE_UPLOAD=1000`` → ``{limits: {max_size_upload: 1000}}``.

    Returns the overrides and the names of the variables that match no key
    (for one warning): a stray ``JMAPD_*`` variable must not break start-up.
    Variables for an ``inactive`` (installed, not enabled) plugin's section
    are neither applied nor reported.
    """
    out: dict[str, Any] = {}
    stray: list[str] = []
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name in ENV_RESERVED:
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX) :].split("__")]
        if keys[0] in inactive and all(keys):
            continue
        tp = _env_key_type(keys, plugin_schemas) if all(keys) else None
        if tp is None:
            stray.append(name)
            continue
        _set_path(out, keys, env_value(name, raw, tp, ".".join(keys)))
    return out, stray


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def read_file(path: str | os.PathLike[str] | None, environ: typing.Mapping[str, str] | None = None) -> dict[str, Any]:
    """The configuration file's mapping (none: empty), with ``JMAPD_DATA_DIR``.

    Every error names the file.
    """
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    path = path or environ.get("JMAPD_CONFIG")
    if path:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping")
        data = loaded
    if environ.get("JMAPD_DATA_DIR"):
        data.setdefault("server", {})
        if isinstance(data["server"], dict):
            data["server"].setdefault("data_dir", environ["JMAPD_DATA_DIR"])
    return data


def merge_env(
    raw: dict[str, Any], environ: typing.Mapping[str, str], plugin_schemas: dict[str, Any],
    inactive: typing.Collection[str] = (),
) -> tuple[dict[str, Any], list[str]]:
    """``raw`` with the environment's overrides applied; and the stray variables."""
    overrides, stray = env_overrides(environ, plugin_schemas, inactive)
    return _merge(raw, overrides), stray


def load(
    raw: dict[str, Any],
    plugin_schemas: dict[str, Any],
    source: str | None = None,
) -> CoreConfig:
    """Validate the raw mapping; plugin sections by their schema dataclass."""
    raw = dict(raw)
    core_keys = {f.name for f in dataclasses.fields(CoreConfig) if not f.metadata.get("internal")}
    plugin_raw = {k: raw.pop(k) for k in list(raw) if k not in core_keys and k in plugin_schemas}
    config: CoreConfig = build(CoreConfig, raw)
    for name, schema in plugin_schemas.items():
        config.plugins[name] = coerce(plugin_raw.get(name) or {}, schema, name)
    config.source = source
    if config.server.workers < 1:
        raise ConfigError("server.workers: expected at least 1")
    if (config.server.tls.cert_file is None) != (config.server.tls.key_file is None):
        raise ConfigError("server.tls: set both cert_file and key_file, or neither")
    if config.blobs.store not in ("filesystem", "database"):
        raise ConfigError("blobs.store: expected `filesystem` or `database`")
    if config.connections.http_parser not in ("httptools", "h11"):
        raise ConfigError("connections.http_parser: expected `httptools` or `h11`")
    if config.blobs.inline_max < 0:
        raise ConfigError("blobs.inline_max: expected 0 or more octets")
    if config.database.url and not config.database.url.startswith(
        ("sqlite:///", "postgresql://", "postgres://")
    ):
        raise ConfigError("database.url: expected sqlite:///… or postgresql://…")
    return config


def sample(cls: Any = CoreConfig, indent: int = 0, plugin_schemas: dict[str, Any] | None = None) -> str:
    """A commented YAML document of every key and its default."""
    lines: list[str] = []
    pad = "  " * indent
    for f in dataclasses.fields(cls):
        if f.metadata.get("internal"):
            continue
        if f.metadata.get("doc"):
            lines.append(f"{pad}# {f.metadata['doc']}")
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:  # every schema field has a default (checked when plugins load)
            default = None
        if dataclasses.is_dataclass(default):
            lines.append(f"{pad}{f.name}:")
            lines.append(sample(type(default), indent + 1))
        else:
            dumped = yaml.safe_dump({f.name: default}, default_flow_style=True).strip()
            lines.append(f"{pad}{dumped[1:-1] if dumped.startswith('{') else dumped}")
    for name, schema in (plugin_schemas or {}).items():
        lines.append(f"{pad}{name}:")
        lines.append(sample(schema, indent + 1))
    return "\n".join(lines)
