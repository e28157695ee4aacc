"""Gunicorn settings for jmapd: ``gunicorn -c etc/gunicorn.conf.py``.

The configuration comes from the same YAML file as everything else
(``JMAPD_CONFIG``, plus ``JMAPD_*`` overrides): ``server.bind`` and
``server.workers`` apply here as under ``jmapd serve``, and gunicorn's own
``--bind``/``--workers`` still override them. Run ``jmapd migrate`` once
before starting (``jmapd serve`` does both).
"""

from jmapd.app import load_config
from jmapd.footprint import bound_malloc_arenas
from jmapd.hosting import check_tls, child_exit, prepare_metrics  # noqa: F401 (child_exit is a gunicorn hook)
from jmapd.logformat import gunicorn_logconfig

# two malloc arenas a process, as under `jmapd serve` (MALLOC_ARENA_MAX overrides)
bound_malloc_arenas()
_config, _ = load_config()  # a configuration error stops gunicorn here, naming the key
check_tls(_config)
# metrics.enabled: prometheus-client's multi-process files in data_dir/metrics, wiped here
prepare_metrics(_config)

wsgi_app = "jmapd.app:get_app()"
bind = [_config.server.bind]
workers = _config.server.workers
# ASGI workers (thousands of idle push connections cost no thread each), with
# jmapd's header deadline and connection caps (the `connections:` section).
worker_class = "jmapd.connguard.JmapdWorker"
graceful_timeout = 10
timeout = 60
keepalive = 75
errorlog = "-"
# log.format (text or JSON lines) for gunicorn's, uvicorn's and jmapd's loggers alike
logconfig_dict = gunicorn_logconfig(_config.log.format, _config.log.level)
# X-Forwarded-* only from server.trusted_proxies (gunicorn's default trusts loopback)
forwarded_allow_ips = ",".join(_config.server.trusted_proxies)
# server.tls; each worker reads the files as it boots, so SIGHUP picks up a renewed certificate
certfile = _config.server.tls.cert_file
keyfile = _config.server.tls.key_file
proc_name = "jmapd"
# gunicorn's control socket defaults to one path per user
# ($XDG_RUNTIME_DIR/gunicorn.ctl), which several instances on one host would
# share; jmapd does not use it.
control_socket_disable = True
