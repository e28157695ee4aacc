"""Gunicorn settings for jmapd: ``gunicorn -c etc/gunicorn.conf.py``.

The app factory reads its configuration from JMAPD_CONFIG; run
``jmapd migrate`` once before starting (``jmapd serve`` does both).
"""

import os

wsgi_app = "jmapd.app:get_app()"
bind = os.environ.get("JMAPD_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("JMAPD_WORKERS", "2"))
# ASGI workers (thousands of idle push connections cost no thread each), with
# jmapd's header deadline and connection caps (the `connections:` section).
worker_class = "jmapd.connguard.JmapdWorker"
graceful_timeout = 10
timeout = 60
keepalive = 75
errorlog = "-"
