"""Sending: one attempt of one delivery, the retry schedule, the failure streak that
disables an endpoint, and the beat task's pick of due retries.

An attempt claims its delivery by moving ``next_attempt_at`` to a lease (a conditional
UPDATE): a Celery countdown message and the beat task may both ask for the same delivery
and only one sends; a worker that dies mid-request leaves the lease to expire and the beat
task picks the delivery again.  ``now`` is the time the rules see (tests move it); the
``webhook-timestamp`` header is always the real time of the request, as receivers check it
against their clock.
"""

from __future__ import annotations

import json
import logging
import random
import time
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from core import outbound

from .. import conf
from ..models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage
from . import signing

log = logging.getLogger(__name__)

OPEN = (WebhookDelivery.Status.PENDING, WebhookDelivery.Status.FAILED)
USER_AGENT = "Synapscale-Webhooks/1.0"
REDACTED = "redacted"


# --- queueing -------------------------------------------------------------------------------


def enqueue(delivery_id: int, *, countdown: float = 0, at: datetime | None = None) -> None:
    from ..tasks import deliver as deliver_task

    deliver_task.apply_async(args=[delivery_id],
                             kwargs={"at": at.isoformat()} if at else {},
                             countdown=countdown or None)


def enqueue_after_commit(delivery_ids: list[int], *, at: datetime | None = None) -> None:
    def send():
        for pk in delivery_ids:
            enqueue(pk, at=at)

    transaction.on_commit(send)


# --- the body and its signature -------------------------------------------------------------


def body_of(message: WebhookMessage) -> str:
    """The exact text sent: the same bytes on every attempt and replay of the message."""
    return json.dumps(message.payload, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


def signed_headers(endpoint: WebhookEndpoint, message: WebhookMessage, body: str,
                   now: datetime) -> dict[str, str]:
    sent_at = timezone.now().replace(microsecond=0)
    return {"content-type": "application/json", "user-agent": USER_AGENT,
            "webhook-id": message.message_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": signing.signature(signing.signing_secrets(endpoint, now),
                                                   message.message_id, sent_at, body)}


def redacted(headers: dict[str, str]) -> dict[str, str]:
    shown = dict(headers)
    shown["webhook-signature"] = " ".join(
        f"{part.split(',', 1)[0]},{REDACTED}" for part in headers["webhook-signature"].split())
    return shown


def _shown_url(url: str) -> str:
    """The URL without credentials or query (either may hold the receiver's token)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):  # one the guard refused anyway
        return url[:2000]
    query = "?…" if parsed.query else ""
    return str(parsed.copy_with(query=None, fragment=None, username=None,
                                password=None))[:1990] + query


# --- the schedule ---------------------------------------------------------------------------


def retry_delay(attempts_made: int) -> float | None:
    """Seconds until the next attempt after ``attempts_made`` attempts (None: no more)."""
    schedule = conf.get("WEBHOOKS_RETRY_SCHEDULE")
    if attempts_made >= len(schedule):
        return None
    delay = float(schedule[attempts_made])
    jitter = float(conf.get("WEBHOOKS_RETRY_JITTER"))
    return max(0.0, delay * (1 + random.uniform(-jitter, jitter))) if jitter else delay


# --- one attempt ----------------------------------------------------------------------------


def _blocked(delivery: WebhookDelivery) -> bool:
    """An ordered endpoint's delivery waits for every earlier open one."""
    return delivery.endpoint.ordered and WebhookDelivery.objects.filter(
        endpoint_id=delivery.endpoint_id, id__lt=delivery.pk, status__in=OPEN).exists()


def _claim(delivery_id: int, now: datetime) -> WebhookDelivery | None:
    delivery = (WebhookDelivery.objects.select_related("endpoint", "message")
                .filter(pk=delivery_id).first())
    if delivery is None or not delivery.is_open or delivery.next_attempt_at is None or \
            delivery.next_attempt_at > now or not delivery.endpoint.is_enabled or \
            _blocked(delivery):
        return None
    lease = now + timedelta(seconds=float(conf.get("WEBHOOKS_TIMEOUT")) + 60)
    won = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=delivery.status,
        next_attempt_at=delivery.next_attempt_at).update(next_attempt_at=lease)
    return delivery if won else None


def deliver(delivery_id: int, *, now: datetime | None = None) -> WebhookAttempt | None:
    """Make the delivery's next attempt if it is due (else do nothing): POST the message,
    log the attempt, schedule the retry or finish.  Returns the attempt made, if any."""
    now = now or timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return None
    endpoint, message = delivery.endpoint, delivery.message
    body = body_of(message)
    headers = signed_headers(endpoint, message, body, now)
    response, error, retryable = None, "", True
    started = time.perf_counter()
    try:
        response = outbound.request(
            "POST", endpoint.url, content=body.encode(), headers=headers,
            allowed_hosts=conf.get("WEBHOOKS_ALLOWED_HOSTS"), setting="WEBHOOKS_ALLOWED_HOSTS",
            timeout=float(conf.get("WEBHOOKS_TIMEOUT")),
            max_bytes=int(conf.get("WEBHOOKS_MAX_RESPONSE_BYTES")))
    except outbound.OutboundError as exc:
        error, retryable = exc.message, exc.retryable
    duration_ms = int((time.perf_counter() - started) * 1000)
    succeeded = response is not None and 200 <= response.status_code < 300
    if response is not None and not succeeded:
        error = f"The endpoint answered {response.status_code} {response.reason_phrase}."
    return _record(delivery, now, headers, body, response, error, retryable, succeeded,
                   duration_ms)


def _record(delivery, now, headers, body, response, error, retryable, succeeded,
            duration_ms) -> WebhookAttempt:
    endpoint = delivery.endpoint
    limit = int(conf.get("WEBHOOKS_LOG_BODY_CHARS"))
    number = delivery.attempts + 1
    delay = None if succeeded or not retryable else retry_delay(number)
    Status = WebhookDelivery.Status
    status = Status.SUCCEEDED if succeeded else Status.EXHAUSTED if delay is None \
        else Status.FAILED
    with transaction.atomic():
        attempt = WebhookAttempt.objects.create(
            workspace_id=delivery.workspace_id, delivery=delivery, endpoint=endpoint,
            number=number, succeeded=succeeded, url=_shown_url(endpoint.url),
            request_headers=redacted(headers), request_body=body[:limit],
            response_status=response.status_code if response is not None else None,
            response_body=response.text[:limit] if response is not None else "",
            error=error[:500], duration_ms=duration_ms)
        delivery.status, delivery.attempts, delivery.last_attempt_at = status, number, now
        delivery.next_attempt_at = now + timedelta(seconds=delay) if delay is not None else None
        delivery.last_status_code = attempt.response_status
        delivery.last_error = error[:500]
        delivery.finished_at = now if status in (Status.SUCCEEDED, Status.EXHAUSTED) else None
        delivery.save(update_fields=["status", "attempts", "last_attempt_at", "next_attempt_at",
                                     "last_status_code", "last_error", "finished_at"])
        if succeeded:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                failure_count=0, first_failure_at=None, last_success_at=now)
        else:
            _count_failure(endpoint, now)
        if delay is not None and delay <= float(conf.get("WEBHOOKS_ETA_MAX_SECONDS")):
            transaction.on_commit(lambda: enqueue(delivery.pk, countdown=delay))
        if delay is None and endpoint.ordered:
            _next_in_order(endpoint.pk, now)
    return attempt


def _count_failure(endpoint: WebhookEndpoint, now: datetime) -> None:
    """One more failure in the streak; past ``WEBHOOKS_DISABLE_AFTER_SECONDS`` of failing
    the endpoint is disabled (once) and its owner emailed."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failure_count=F("failure_count") + 1, last_failure_at=now,
        first_failure_at=Coalesce(F("first_failure_at"), Value(now)))
    period = timedelta(seconds=int(conf.get("WEBHOOKS_DISABLE_AFTER_SECONDS")))
    since = (WebhookEndpoint.objects.filter(pk=endpoint.pk)
             .values_list("first_failure_at", flat=True).first())
    if since is None or now - since < period:
        return
    reason = (f"Failing since {since:%Y-%m-%d %H:%M} UTC without a success "
              f"({_days(period)}); disabled automatically.")
    disabled = WebhookEndpoint.objects.filter(pk=endpoint.pk, is_enabled=True).update(
        is_enabled=False, disabled_at=now, disabled_reason=reason, updated_at=now)
    if disabled:
        transaction.on_commit(lambda: notify_disabled(endpoint.pk))


def _days(period: timedelta) -> str:
    days = period.total_seconds() / 86400
    return f"{days:g} day{'s' if days != 1 else ''}"


def notify_disabled(endpoint_id: int) -> bool:
    """Email the endpoint's owner that it was disabled, and why."""
    endpoint = WebhookEndpoint.objects.select_related("owner", "workspace").get(pk=endpoint_id)
    owner = endpoint.owner
    if owner is None or not owner.email:
        log.warning("Webhook endpoint %s was disabled and has no owner to tell.", endpoint.pk)
        return False
    subject = f"Webhook endpoint disabled: {endpoint.url}"[:200]
    body = (f"Hello,\n\nThe webhook endpoint {endpoint.url} of the workspace "
            f"\"{endpoint.workspace}\" has been disabled.\n\n{endpoint.disabled_reason}\n\n"
            f"Nothing is sent to it until it is enabled again; deliveries that were waiting "
            f"resume then, and any message can be replayed.\n\n"
            f"{settings.FRONTEND_URL}\n")
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [owner.email])
    return True


# --- ordered endpoints, resuming and the beat task ------------------------------------------


def _next_in_order(endpoint_id: int, now: datetime) -> None:
    following = (WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status__in=OPEN)
                 .order_by("id").values_list("id", flat=True).first())
    if following is not None:
        enqueue_after_commit([following], at=now)


def resume(endpoint: WebhookEndpoint, now: datetime | None = None) -> None:
    """Queue the deliveries of ``endpoint`` already due (after it is enabled again)."""
    now = now or timezone.now()
    due = WebhookDelivery.objects.filter(endpoint=endpoint, status__in=OPEN,
                                         next_attempt_at__lte=now).order_by("id")
    ids = list(due.values_list("id", flat=True)[:1 if endpoint.ordered else
                                                 int(conf.get("WEBHOOKS_DUE_BATCH"))])
    enqueue_after_commit(ids)


def due_ids(now: datetime, limit: int) -> list[int]:
    """Open deliveries due by ``now`` of enabled endpoints, oldest first; on an ordered
    endpoint only the first open one."""
    earlier_open = WebhookDelivery.objects.filter(endpoint_id=OuterRef("endpoint_id"),
                                                  id__lt=OuterRef("id"), status__in=OPEN)
    return list(WebhookDelivery.objects
                .filter(status__in=OPEN, next_attempt_at__lte=now, endpoint__is_enabled=True)
                .filter(Q(endpoint__ordered=False) | ~Exists(earlier_open))
                .order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])


def deliver_due(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Queue every due delivery (the beat task); returns how many were queued.  An explicit
    ``now`` travels with the tasks, so a test clock sends what is due at its time."""
    ids = due_ids(now or timezone.now(), limit or int(conf.get("WEBHOOKS_DUE_BATCH")))
    for pk in ids:
        enqueue(pk, at=now)
    return len(ids)
