"""Gunicorn settings for jmapd: ``gunicorn -c etc/gunicorn.conf.py``.

The app factory reads its configuration from JMAPD_CONFIG; run
``jmapd migrate`` once before starting (``jmapd serve`` does both).
"""

import os

wsgi_app = "jmapd.app:get_app()"
bind = os.environ.get("JMAPD_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("JMAPD_WORKERS", "2"))
# ASGI workers: thousands of idle push connections cost no thread each.
worker_class = "uvicorn_worker.UvicornWorker"
graceful_timeout = 10
timeout = 60
keepalive = 75
errorlog = "-"
