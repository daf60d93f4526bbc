"""(e) Loopback load: gunicorn as configured, many clients, database connections counted.

Starts ``gunicorn -c config/gunicorn.py config.wsgi`` on a free port of
127.0.0.1 with production settings (DEBUG off, the psycopg pool on) against the
benchmark database, then runs ``LOAD_CLIENTS`` (default 50) client threads for
``LOAD_SECONDS`` (default 60): each keeps one HTTP/1.1 connection and cycles
through ``/health/`` and two authenticated API lists (token of a workspace
member).  Meanwhile it samples ``pg_stat_activity`` for the server's own
connections (``application_name`` set through ``PGAPPNAME``) every
``SAMPLE_EVERY`` seconds.  It prints the requests served, latencies, the
errors (any answer but 200, any failed request: must be 0) and the most
connections seen against the configured maximum, GUNICORN_WORKERS x
DB_POOL_MAX_SIZE (x GUNICORN_THREADS without a pool).  Loopback only, bounded
in clients and time.

Alone, without the other benchmarks' data: ``python -m benchmarks --load-only``
(``LOAD_SECONDS=10`` for a quick look).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from django.conf import settings

from .setup_db import connect_kwargs
from .timing import Result

SECONDS = float(os.environ.get("LOAD_SECONDS") or 60)
CLIENTS = int(os.environ.get("LOAD_CLIENTS") or 50)
SAMPLE_EVERY = 0.2
BASE_DIR = Path(__file__).resolve().parent.parent
USER_EMAIL = "bench-load@example.com"
WORKSPACE_SLUG = "bench-load"
TAGS = 60

#: Settings the server is started with, whatever the benchmark process itself uses.
SERVER_SETTINGS = {
    "DJANGO_SETTINGS_MODULE": "config.settings.base",
    "DJANGO_DEBUG": "false",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    "DJANGO_SECURE_COOKIES": "false",
    "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback
    "API_THROTTLE_USER": "100000000/min",  # the throttle runs, it just never answers 429
    "API_THROTTLE_ANON": "100000000/min",
    "LOG_LEVEL": "WARNING",
    "GUNICORN_ACCESS_LOG": "",  # a line per request would cost more than the request
    "GUNICORN_LOG_LEVEL": "warning",
    "PYTHONWARNINGS": "ignore:No directory at",  # WhiteNoise: no collectstatic here
}

_SHOW_CONFIG = """
import json
import config.settings.base as s
from config import gunicorn as g
print(json.dumps({"workers": g.workers, "threads": g.threads,
                  "pool": s.DATABASES["default"].get("OPTIONS", {}).get("pool")}))
"""


@dataclass(frozen=True)
class LoadResult(Result):
    errors: int = 0

    @property
    def passed(self) -> bool:
        return self.errors == 0 and self.ratio <= self.target


def prepare() -> str:
    """A workspace member with view permissions, tags to list, and an API token."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    from accounts.services.tokens import token_issue
    from workspaces.models import Membership, Tag, Workspace

    user, _ = get_user_model().objects.get_or_create(email=USER_EMAIL)
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="workspaces", codename__in=["view_workspace", "view_tag"]))
    workspace, _ = Workspace.objects.get_or_create(slug=WORKSPACE_SLUG,
                                                   defaults={"name": "Bench load"})
    Membership.objects.get_or_create(workspace=workspace, user=user,
                                     defaults={"role": "member"})
    Tag.objects.bulk_create([Tag(workspace=workspace, name=f"tag-{n}") for n in range(TAGS)],
                            ignore_conflicts=True)
    return token_issue(user=user)[1]


def run(server_env: dict[str, str] | None = None) -> LoadResult:
    token = prepare()
    env = {**(server_env or os.environ), **SERVER_SETTINGS}
    env["DATABASE_URL"] = _database_url()
    config = json.loads(subprocess.run([sys.executable, "-c", _SHOW_CONFIG], env=env,
                                       cwd=BASE_DIR, check=True, capture_output=True,
                                       text=True).stdout)
    per_process = config["pool"]["max_size"] if config["pool"] else config["threads"]
    configured = config["workers"] * per_process
    port = _free_port()
    env.update(GUNICORN_BIND=f"127.0.0.1:{port}", PGAPPNAME=f"synapscale-load-{port}")
    server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c",
                               "config/gunicorn.py", "config.wsgi"], env=env, cwd=BASE_DIR,
                              start_new_session=True)
    try:
        _wait_until_up(port, server)
        sampler = _Sampler(settings.DATABASES["default"]["NAME"], env["PGAPPNAME"])
        sampler.start()
        try:
            stats = _drive(port, token)
        finally:
            sampler.stop()
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the session gunicorn was started in
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    served, errors, latencies = stats["requests"], stats["errors"], sorted(stats["latencies"])

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else 0

    pool = (f"pool max {config['pool']['max_size']}" if config["pool"]
            else f"no pool, {config['threads']} threads")
    print(f"load: {CLIENTS} clients for {SECONDS:g} s on 127.0.0.1:{port}, "
          f"{config['workers']} workers x {config['threads']} threads, {pool}: "
          f"{served} requests ({served / SECONDS:.0f}/s), p50 {pct(0.5):.0f} ms, "
          f"p99 {pct(0.99):.0f} ms, errors {errors}; database connections: max "
          f"{sampler.max_seen} seen (of {sampler.samples} samples) vs configured maximum "
          f"{configured}", flush=True)
    for sample in stats["error_samples"]:
        print(f"  error: {sample}")
    return LoadResult(
        f"load, {CLIENTS} clients x {SECONDS:g}s (db connections seen / max)",
        f"{served} req, {errors} errors, conns {sampler.max_seen} of {configured}",
        sampler.max_seen / configured, 1.0, errors=errors)


PATHS = [("/health/", False), ("/api/v1/workspaces/", True),
         ("/api/v1/tags/?page_size=50", True)]


def _drive(port: int, token: str) -> dict:
    deadline = time.monotonic() + SECONDS
    lock = threading.Lock()
    stats = {"requests": 0, "errors": 0, "latencies": [], "error_samples": []}

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        requests = errors = 0
        latencies, samples = [], []
        i = n
        while time.monotonic() < deadline:
            path, auth = PATHS[i % len(PATHS)]
            i += 1
            headers = {"Accept": "application/json"}
            if auth:
                headers["Authorization"] = f"Token {token}"
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                body = response.read()
                if response.status != 200:
                    errors += 1
                    samples.append(f"GET {path} -> {response.status} {body[:200]!r}")
            except (OSError, http.client.HTTPException) as exc:
                errors += 1
                samples.append(f"GET {path} -> {type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            requests += 1
            latencies.append((time.perf_counter() - started) * 1000)
        conn.close()
        with lock:
            stats["requests"] += requests
            stats["errors"] += errors
            stats["latencies"] += latencies
            stats["error_samples"] += samples[:3]

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats["error_samples"] = stats["error_samples"][:10]
    return stats


class _Sampler(threading.Thread):
    """Counts the server's connections in pg_stat_activity until stopped."""

    def __init__(self, database: str, application_name: str):
        super().__init__(daemon=True)
        self.database, self.application_name = database, application_name
        self.max_seen = self.samples = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        with psycopg.connect(**connect_kwargs("postgres"), autocommit=True) as conn:
            while not self._stop_event.is_set():
                count = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                    "AND application_name = %s",
                    [self.database, self.application_name]).fetchone()[0]
                self.max_seen, self.samples = max(self.max_seen, count), self.samples + 1
                self._stop_event.wait(SAMPLE_EVERY)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def _database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db.get("USER") or "postgres"
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/" \
           f"{db['NAME']}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health/")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer /health/ in time")
