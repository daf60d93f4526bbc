"""gunicorn settings for the web process (``gunicorn -c config/gunicorn.py config.wsgi``).

Bounded by design: GUNICORN_WORKERS processes of GUNICORN_THREADS threads each
serve at most workers x threads requests at once, and each process holds at
most DB_POOL_MAX_SIZE database connections (Django's psycopg pool, see
``DATABASES`` in config/settings/base.py; default one per thread).  So the web
never holds more than GUNICORN_WORKERS x DB_POOL_MAX_SIZE connections
(2 x 4 = 8 by default); ``make bench`` checks that under load.
"""

import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


bind = os.environ.get("GUNICORN_BIND") or f"127.0.0.1:{os.environ.get('WEB_PORT') or 8000}"
workers = _int("GUNICORN_WORKERS", 2)
threads = _int("GUNICORN_THREADS", 4)
worker_class = "gthread" if threads > 1 else "sync"
# A request thread stuck longer than this gets its worker restarted.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then, so a slow leak cannot grow without bound.
max_requests = _int("GUNICORN_MAX_REQUESTS", 5000)
max_requests_jitter = max_requests // 10
# Not preloaded: each worker opens its own database pool after the fork.
preload_app = False
# X-Forwarded-Proto and friends are trusted only from these addresses (the reverse
# proxy); Django's TRUSTED_PROXY_COUNT decides about X-Forwarded-For on its own.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None  # "" turns it off
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "synapscale-web"
# gunicorn 24+ opens a control socket in ~/.gunicorn; two servers on one machine (make run
# and the load benchmark) would fight over it, and nothing here uses it.
control_socket_disable = True
