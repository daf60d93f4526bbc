"""Outbound webhooks on PostgreSQL: one event fanned out to 100 endpoints, delivered.

A workspace gets ``BENCH_WEBHOOK_ENDPOINTS`` endpoints (default 100), each pointing at a
local threaded HTTP receiver (``ThreadingHTTPServer`` on loopback, allowed through the
outbound guard for the run).  One domain event is handed to the fan-out
(``webhooks.services.fanout.on_event``: the endpoint query, the message, the deliveries in
one bulk insert), timed alone; the Celery queueing is swapped for a list, so nothing goes to
a broker.  Then the deliveries are sent as workers would, ``BENCH_WEBHOOK_WORKERS`` threads
(default 8) calling ``webhooks.services.delivery.deliver`` in-process, each with its own
database connection: the claim, the signature (standardwebhooks), the checked POST through
``core.outbound``, the attempt log and the delivery's state.  Every delivery must end
succeeded, and a sample of requests is verified with ``standardwebhooks.Webhook.verify``.

Reported: fan-out ms, deliveries/s and p50/p95 of one delivery.  The target (ours; the
issue sets none) is ``TARGET_RATE`` deliveries/s.  Times are printed, never asserted.
Alone: ``python -m benchmarks.webhooks_fanout`` (same environment as ``make bench``).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # timing imports models: standalone runs set Django up first (main)
    from .timing import Result

ENDPOINTS = int(os.environ.get("BENCH_WEBHOOK_ENDPOINTS") or 100)
WORKERS = int(os.environ.get("BENCH_WEBHOOK_WORKERS") or 8)
# Deliveries/s from one process of WORKERS threads (ours): a busy workspace emitting 10
# events/s to 10 endpoints needs 100/s.
TARGET_RATE = 100.0
SECRET = "whsec_" + "YmVuY2gtd2ViaG9vay1zZWNyZXQtMDEyMzQ1Njc4OQ=="
WORKSPACE = "bench-webhooks"


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.keep({k.lower(): v for k, v in self.headers.items()}, body)
        self.send_response(204)
        self.end_headers()


class _Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[dict, bytes]] = []
        self.lock = threading.Lock()

    def keep(self, headers: dict, body: bytes) -> None:
        with self.lock:
            self.requests.append((headers, body))


def _endpoints(url: str):
    from webhooks.models import WebhookEndpoint
    from webhooks.services import signing
    from workspaces.models import Workspace

    workspace, _ = Workspace.objects.get_or_create(slug=WORKSPACE,
                                                   defaults={"name": "Benchmark webhooks"})
    WebhookEndpoint.objects.filter(workspace=workspace).delete()  # earlier runs' rows
    ciphertext = signing.encrypt(SECRET)
    WebhookEndpoint.objects.bulk_create([
        WebhookEndpoint(workspace=workspace, url=f"{url}/{n}", description=f"bench {n}",
                        secret_ciphertext=ciphertext) for n in range(ENDPOINTS)])
    return workspace


def _send(ids: list[int], times: list[float]) -> None:
    from django.db import connections

    from webhooks.services import delivery

    try:
        for pk in ids:
            start = time.perf_counter()
            delivery.deliver(pk)
            times.append(time.perf_counter() - start)
    finally:
        connections.close_all()  # this thread's connection


def run() -> list[Result]:
    from django.db import connection
    from django.test.utils import override_settings
    from standardwebhooks import Webhook

    from core.events import Event
    from webhooks.models import WebhookDelivery
    from webhooks.services import delivery, fanout

    from .timing import Result

    if connection.vendor != "postgresql":
        print("webhooks fan-out benchmark skipped: it needs PostgreSQL", flush=True)
        return []
    receiver = _Receiver()
    serving = threading.Thread(target=receiver.serve_forever, daemon=True)
    serving.start()
    queued: list[int] = []
    original = delivery.enqueue
    delivery.enqueue = lambda pk, **kwargs: queued.append(pk)
    try:
        with override_settings(WEBHOOKS_ALLOWED_HOSTS=["127.0.0.1"]):
            workspace = _endpoints(f"http://127.0.0.1:{receiver.server_address[1]}/hook")
            event = Event(name="webhooks.test", version=1, workspace_id=workspace.pk,
                          payload={"endpoint": 0, "message": f"bench {uuid.uuid4().hex}"})
            started = time.perf_counter()
            fanout.on_event(event)
            fanout_ms = (time.perf_counter() - started) * 1000
            times: list[float] = []
            slices = [queued[n::WORKERS] for n in range(WORKERS)]
            threads = [threading.Thread(target=_send, args=(ids, times)) for ids in slices]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
    finally:
        delivery.enqueue = original
        receiver.shutdown()
        receiver.server_close()
    succeeded = WebhookDelivery.objects.filter(
        message__message_id=f"msg_{event.id}", status=WebhookDelivery.Status.SUCCEEDED).count()
    if succeeded != ENDPOINTS or len(receiver.requests) != ENDPOINTS:
        raise RuntimeError(f"{succeeded} of {ENDPOINTS} deliveries succeeded, "
                           f"{len(receiver.requests)} requests received")
    for headers, body in receiver.requests[:10]:
        Webhook(SECRET).verify(body, headers)  # raises if a signature is wrong
    rate = ENDPOINTS / elapsed
    ordered = sorted(times)
    p50 = statistics.median(ordered) * 1000
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000
    figures = (f"fan-out of 1 event to {ENDPOINTS} endpoints {fanout_ms:.1f} ms; "
               f"{rate:,.0f} deliveries/s with {WORKERS} threads (p50 {p50:.1f} ms, "
               f"p95 {p95:.1f} ms); {succeeded}/{ENDPOINTS} succeeded, signatures verified")
    print(f"webhooks fan-out: {figures}", flush=True)
    return [Result(f"webhooks: fan-out and delivery ({TARGET_RATE:g} deliveries/s / "
                   f"measured)", figures, TARGET_RATE / rate, 1.0)]


def main() -> int:
    from .__main__ import standalone

    return standalone(run, "webhooks fan-out")


if __name__ == "__main__":
    raise SystemExit(main())
