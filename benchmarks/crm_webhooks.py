"""CRM webhook ingestion on PostgreSQL: provider events per second, with duplicates.

Signed Bolna execution events (``POST /api/v1/crm/webhooks/voice/``) sent through
``config.wsgi.application`` (the object gunicorn serves: middleware, the signature check
on the raw body, the JSON parse, the ``ProviderEvent`` insert unique by event id, the
answer), one request after another; the request environ is built before the clock
starts.  ``BENCH_CRM_CALLS`` calls (default 500) each send the four events of a call
(ringing, in-progress, call-disconnected, completed), a quarter of the events is
delivered a second time and the order is shuffled within each call's window (events out
of order, as providers deliver them).  The worker's task is not queued during the
timing (``crm.webhooks.enqueue`` is swapped for a list): ingestion is what the provider
waits for.  Then the stored events are applied as the worker would
(``crm.webhooks.process_event``), timed separately, and the calls checked: every call
completed with its duration, every event stored once.

Reported: deliveries/s (duplicates included) and p50/p95 of one delivery, the count of
duplicates answered 200, and events applied/s on the worker.  The target (ours; the
issue sets none) is ``TARGET_RATE`` deliveries/s.  Times are printed, never asserted.
Alone: ``python -m benchmarks.crm_webhooks`` (same environment as ``make bench``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import statistics
import time
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # timing imports models: standalone runs set Django up first (main)
    from .timing import Result

CALLS = int(os.environ.get("BENCH_CRM_CALLS") or 500)
DUPLICATE_SHARE = 0.25
# Deliveries/s from one sequential sender (ours): a campaign placing 1,000 calls a minute
# draws about 5 status events per call, ~85/s, and each web worker serves this rate.
TARGET_RATE = 100.0
PATH = "/api/v1/crm/webhooks/voice/"
SECRET = "bench-crm-webhook-secret"
WORKSPACE = "bench-crm-webhooks"


class _VoiceUrls:
    """The project's URLs plus the voice webhook (until crm/api/urls.py lists it)."""

    @property
    def urlpatterns(self):
        from django.urls import include, path

        from config import urls
        from crm.api import webhooks

        return [path("api/v1/", include(webhooks.urlpatterns)), *urls.urlpatterns]


def _routed(settings_override):
    from django.urls import NoReverseMatch, reverse

    try:
        reverse("crm-webhook-voice")
        return settings_override(CRM_VOICE_WEBHOOK_SECRET=SECRET)
    except NoReverseMatch:
        return settings_override(CRM_VOICE_WEBHOOK_SECRET=SECRET, ROOT_URLCONF=_VoiceUrls())


def _calls(run_id: str) -> list:
    from crm.models import Call, Contact
    from workspaces.models import Workspace

    workspace, _ = Workspace.objects.get_or_create(slug=WORKSPACE,
                                                   defaults={"name": "Benchmark CRM"})
    contact = Contact.objects.filter(workspace=workspace).first() or Contact.objects.create(
        workspace=workspace, first_name="Bench", phone="+351912345678")
    return Call.objects.bulk_create([
        Call(workspace=workspace, contact=contact, from_number="+14155550100",
             to_number=contact.phone, provider_execution_id=f"bench-{run_id}-{n}")
        for n in range(CALLS)])


def _events(calls, rng: random.Random) -> list[dict]:
    deliveries = []
    for call in calls:
        ex = call.provider_execution_id
        lifecycle = [
            {"id": ex, "status": "ringing", "updated_at": "2026-11-29T10:00:01+00:00"},
            {"id": ex, "status": "in-progress", "updated_at": "2026-11-29T10:00:05+00:00"},
            {"id": ex, "status": "call-disconnected", "conversation_duration": 95,
             "updated_at": "2026-11-29T10:01:40+00:00"},
            {"id": ex, "status": "completed", "conversation_duration": 95, "total_cost": 4.5,
             "transcript": "assistant: Hello\nuser: Call me tomorrow",
             "telephony_data": {"recording_url": f"https://rec.example/{ex}.mp3"},
             "updated_at": "2026-11-29T10:01:45+00:00"}]
        window = lifecycle + [e for e in lifecycle if rng.random() < DUPLICATE_SHARE]
        rng.shuffle(window)
        deliveries += window
    return deliveries


def run() -> list[Result]:
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import override_settings

    from crm import events, webhooks
    from crm.models import Call, ProviderEvent

    from .timing import Result

    if connection.vendor != "postgresql":
        print("crm webhooks benchmark skipped: it needs PostgreSQL", flush=True)
        return []
    from config.wsgi import application

    events.register()  # CrmConfig.ready() does it once wired; again is a no-op
    rng = random.Random(14)
    run_id = uuid.uuid4().hex[:10]
    calls = _calls(run_id)
    deliveries = _events(calls, rng)
    unique = len({(e["id"], e["status"]) for e in deliveries})
    factory = RequestFactory()

    def environ(event: dict) -> dict:
        body = json.dumps(event).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        return factory.post(PATH, data=body, content_type="application/json",
                            headers={"x-bolna-signature": signature}).environ

    def send(env: dict) -> str:
        status = []
        response = application(env, lambda s, h, exc_info=None: status.append(s))
        try:
            content = b"".join(response)
        finally:
            response.close()
        if not status[0].startswith(("200", "202")):
            raise RuntimeError(f"POST {PATH} answered {status[0]}: {content[:300]!r}")
        return status[0][:3]

    queued: list[int] = []
    original = webhooks.enqueue
    webhooks.enqueue = queued.append
    try:
        with _routed(override_settings):
            send(environ({"id": f"bench-warmup-{run_id}", "status": "ringing"}))
            envs = [environ(event) for event in deliveries]
            times, answers = [], []
            for env in envs:
                start = time.perf_counter()
                answers.append(send(env))
                times.append(time.perf_counter() - start)
    finally:
        webhooks.enqueue = original
    duplicates = answers.count("200")
    stored = ProviderEvent.objects.filter(event_id__startswith=f"bench-{run_id}-").count()
    if duplicates != len(deliveries) - unique or stored != unique:
        raise RuntimeError(f"{len(deliveries)} deliveries of {unique} events: {stored} stored, "
                           f"{duplicates} answered as duplicates")

    started = time.perf_counter()
    for pk in queued[1:]:  # the warm-up's event has no call
        webhooks.process_event(pk)
    applied_s = time.perf_counter() - started
    done = Call.objects.filter(pk__in=[c.pk for c in calls], status=Call.Status.COMPLETED,
                               duration_seconds=95).count()
    if done != CALLS:
        raise RuntimeError(f"{done} of {CALLS} calls ended completed with their duration")

    total = sum(times)
    rate = len(deliveries) / total
    ordered = sorted(times)
    p50 = statistics.median(ordered) * 1000
    p95 = ordered[int(len(ordered) * 0.95) - 1] * 1000
    figures = (f"{rate:,.0f} deliveries/s ({len(deliveries)} for {unique} events, "
               f"{duplicates} duplicates answered 200; p50 {p50:.1f} ms, p95 {p95:.1f} ms); "
               f"worker applied {len(queued) - 1} events at "
               f"{(len(queued) - 1) / applied_s:,.0f}/s; {done}/{CALLS} calls completed")
    print(f"crm webhook ingestion: {figures}", flush=True)
    return [Result("crm: webhook ingestion (500 deliveries/s / measured)", figures,
                   TARGET_RATE / rate, 1.0)]


def main() -> int:
    from .__main__ import standalone

    return standalone(run, "crm webhook ingestion")


if __name__ == "__main__":
    raise SystemExit(main())
