"""Usage ingestion on PostgreSQL: events per second through the batch endpoint.

``POST /api/v1/billing/usage/batch/`` with batches of ``BATCH`` (1,000) new events over
``WORKSPACES`` workspaces, through ``config.wsgi.application`` (the object gunicorn
serves: middleware, token authentication, the JSON parser, the permission and workspace
checks, validation of every event and the insert), as a staff service account with the
``billing.add_usagerecord`` permission signed in by API token, one request after another.
The request environ is built before the clock starts; the response is read inside it.

Reported: events/s over ``BENCH_USAGE_BATCHES`` batches (default 30, so 30,000 events)
and the p50 time of one batch, against the issue's target of 5,000 events/s; then one
batch is sent again and must record nothing (its 1,000 events reported as duplicates),
and a batch carrying each event twice must record each once.  Each run uses fresh
transaction ids, so the table grows by the events sent.  Times are printed, never
asserted.  Alone: ``python -m benchmarks.billing_usage`` (same environment as
``make bench``).
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:  # timing imports models: standalone runs set Django up first (main)
    from .timing import Result

BATCH = 1000
BATCHES = int(os.environ.get("BENCH_USAGE_BATCHES") or 30)
WORKSPACES = 10
TARGET_RATE = 5000.0  # events/s (issue 13)
PATH = "/api/v1/billing/usage/batch/"
SERVICE_EMAIL = "bench-usage-service@example.com"


def run() -> list[Result]:
    from django.db import connection
    from django.test import RequestFactory

    from .timing import Result

    if connection.vendor != "postgresql":
        print("billing usage benchmark skipped: it needs PostgreSQL", flush=True)
        return []
    from config.wsgi import application

    workspaces = _workspaces()
    token = _service_token(workspaces)
    factory = RequestFactory()
    run_id = uuid.uuid4().hex[:12]
    month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)

    def body(n: int, *, twice: bool = False) -> bytes:
        events = [{"workspace": workspaces[i % WORKSPACES],
                   "metric": "tokens" if i % 3 else "executions",
                   "quantity": 1 + i % 500,
                   "transaction_id": f"bench:{run_id}:{n}:{i}",
                   "occurred_at": (month + timedelta(minutes=i * 37 % 40_000)).isoformat(),
                   "properties": {"node": f"n{i % 7}", "model": "gpt-x"}}
                  for i in range(BATCH // 2 if twice else BATCH)]
        if twice:
            events += events
        return orjson.dumps({"source": "bench", "events": events})

    def environ(payload: bytes) -> dict:
        return factory.post(PATH, data=payload, content_type="application/json",
                            headers={"authorization": f"Token {token}",
                                     "accept": "application/json"}).environ

    def send(env: dict) -> dict:
        status = []
        response = application(env, lambda s, h, exc_info=None: status.append(s))
        try:
            content = b"".join(response)
        finally:
            response.close()
        if not status[0].startswith("200"):
            raise RuntimeError(f"POST {PATH} answered {status[0]}: {content[:500]!r}")
        return orjson.loads(content)

    send(environ(body(-1)))  # warm-up: imports, the connection, the plan cache
    payloads = [body(n) for n in range(BATCHES)]
    times, accepted = [], 0
    for payload in payloads:
        env = environ(payload)
        start = time.perf_counter()
        result = send(env)
        times.append(time.perf_counter() - start)
        accepted += result["accepted"]
    if accepted != BATCHES * BATCH:
        raise RuntimeError(f"{accepted} of {BATCHES * BATCH} new events were recorded")
    again = send(environ(payloads[0]))
    if (again["accepted"], again["duplicates"]) != (0, BATCH):
        raise RuntimeError(f"a re-sent batch recorded something: {again}")
    doubled = send(environ(body(BATCHES, twice=True)))
    if (doubled["accepted"], doubled["duplicates"]) != (BATCH // 2, BATCH // 2):
        raise RuntimeError(f"a batch of repeated events counted them twice: {doubled}")

    rate = BATCHES * BATCH / sum(times)
    p50 = statistics.median(times) * 1000
    figures = (f"{rate:,.0f} events/s ({BATCHES} x {BATCH}, p50 {p50:.0f} ms/batch); "
               f"re-sent batch: {again['accepted']} new, {again['duplicates']} duplicates; "
               f"doubled batch: {doubled['accepted']} new, {doubled['duplicates']} duplicates")
    print(f"billing usage ingestion: {figures}; {rate / TARGET_RATE:.2f}x the "
          f"{TARGET_RATE:,.0f}/s target", flush=True)
    # Result's ratio is "lower is better": the target rate over the measured one.
    return [Result("billing: usage ingestion (5,000 events/s / measured)", figures,
                   TARGET_RATE / rate, 1.0)]


def _workspaces() -> list[int]:
    from workspaces.models import Workspace

    ids = []
    for n in range(WORKSPACES):
        workspace, _ = Workspace.objects.get_or_create(
            slug=f"bench-usage-{n}", defaults={"name": f"Benchmark usage {n}"})
        ids.append(workspace.pk)
    return ids


def _service_token(workspace_ids: list[int]) -> str:
    """A staff service account (not a superuser: the workspace check runs as for any
    service account), member of the benchmark's workspaces, with a verified API token."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    from accounts.models import ApiToken
    from workspaces.models import Membership

    user, created = get_user_model().objects.get_or_create(
        email=SERVICE_EMAIL, defaults={"is_staff": True})
    if created:
        user.set_unusable_password()
        user.save()
    user.user_permissions.add(Permission.objects.get(content_type__app_label="billing",
                                                     codename="add_usagerecord"))
    for pk in workspace_ids:
        Membership.objects.get_or_create(workspace_id=pk, user=user,
                                         defaults={"role": "member"})
    ApiToken.objects.filter(user=user).delete()
    _, raw = ApiToken.objects.create(user=user, otp_verified=True)
    return raw


def main() -> int:
    from .__main__ import standalone

    return standalone(run, "billing usage ingestion")


if __name__ == "__main__":
    raise SystemExit(main())
