"""``/health/``: is the database reachable, is the broker reachable."""

import time

from celery import current_app
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def _check_broker() -> dict:
    # The project's app, set as current when config/celery_app.py is imported at start-up.
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
        return {"transport": conn.transport_cls if isinstance(conn.transport_cls, str) else
                conn.transport.driver_type}


CHECKS = {"database": _check_database, "broker": _check_broker}


@never_cache
@require_GET
def health(request):
    results, healthy = {}, True
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            detail = check()
            results[name] = {"status": "ok", **detail}
        except Exception as exc:  # any failure of a dependency is "down", with its reason
            healthy = False
            results[name] = {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
        results[name]["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return JsonResponse(
        {"status": "ok" if healthy else "down", "checks": results},
        status=200 if healthy else 503,
    )
