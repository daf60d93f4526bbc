"""Provider webhooks, each event applied exactly once.

Receiving (the HTTP request; fast, no call lookups):

1. verify the signature, before reading anything: Bolna's raw body is signed with
   HMAC-SHA256 under ``settings.CRM_VOICE_WEBHOOK_SECRET`` (``X-Bolna-Signature:
   sha256=<hex>``, core.webhooks' ``signature``; the project's ``X-Synapscale-Signature``
   header is accepted too); Twilio's form POST with ``X-Twilio-Signature`` by the SDK's
   ``RequestValidator`` over the public URL (``CRM_PUBLIC_BASE_URL`` + path) and the form
   fields, with ``TWILIO_AUTH_TOKEN``.  A bad or missing signature is a 403 and nothing
   is stored; without a secret configured, 503;
2. store a ``ProviderEvent``, unique by provider and event id: Bolna's ``event_id`` when
   it sends one, else ``<execution id>:<status>:<updated_at>``; Twilio's
   ``<CallSid>:<CallStatus>:<SequenceNumber>``.  A delivery of a stored event changes
   nothing (``duplicate: true``);
3. answer 202 and hand the event to the worker once the row is committed
   (``crm.tasks.process_provider_event``).

Processing (the worker, ``process_event``): under the event's row lock, an event
already processed is skipped (a task delivered twice does nothing); the call is found by
execution id (Bolna; or by the call id we sent as ``user_data`` when the webhook beat
our own save of the execution id) or by Call SID (Twilio), and the event applied by
``crm.services.calls.apply_event`` (forward only: any order gives one state).  An event
for a call not known yet is kept as ``ignored`` and processed again when the call learns
that id (``replay_waiting``).  An event whose processing broke is ``failed`` with the
reason (its effects rolled back).
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core import webhooks as core_webhooks
from core.api.errors import ApiError

from .models import Call, ProviderEvent
from .providers import bolna
from .providers import twilio as twilio_provider

log = logging.getLogger(__name__)

VOICE_SIGNATURE_HEADER = "X-Bolna-Signature"
TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"
TWILIO_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
#: A Bolna execution with a long transcript is tens of kilobytes; a Twilio form, one.
MAX_BODY_BYTES = 2 * 1024 * 1024
P = ProviderEvent.Provider
E = ProviderEvent.Status


@dataclass
class Outcome:
    event: ProviderEvent
    duplicate: bool

    def body(self) -> dict:
        return {"received": True, "event": self.event.event_id,
                "status": self.event.status, "duplicate": self.duplicate}


# --- receiving -----------------------------------------------------------------------------


def _refused(what: str) -> ApiError:
    return ApiError(403, "invalid_signature", f"The {what} signature does not verify this "
                                              "request.")


def receive_voice(body: bytes, headers) -> Outcome:
    """A Bolna execution event (the execution JSON), verified then stored once."""
    secret = getattr(settings, "CRM_VOICE_WEBHOOK_SECRET", "") or ""
    if not secret:
        raise ApiError(503, "not_configured", "Voice webhooks are not configured "
                                              "(CRM_VOICE_WEBHOOK_SECRET is not set).")
    if len(body) > MAX_BODY_BYTES:
        raise core_webhooks.too_large(MAX_BODY_BYTES)
    given = (headers.get(VOICE_SIGNATURE_HEADER)
             or headers.get(core_webhooks.SIGNATURE_HEADER) or "").strip()
    expected = core_webhooks.signature(secret, body)
    if not hmac.compare_digest(given.encode(errors="surrogatepass"), expected.encode()):
        raise _refused("X-Bolna-Signature")
    try:
        data = json.loads(body)
        execution = bolna.parse_execution(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid", f"The payload is not a voice platform execution "
                                       f"({exc}).", errors={"body": [str(exc)[:200]]}) from None
    event_id = data.get("event_id") if isinstance(data.get("event_id"), str) else ""
    if not event_id:
        event_id = f"{execution.id}:{execution.raw_status}:{execution.updated_at}"
    occurred = _iso(execution.updated_at)
    return _store(P.VOICE, event_id[:120], f"execution.{execution.raw_status or 'unknown'}"[:60],
                  occurred, data)


def public_url(path: str, query: str = "") -> str:
    """The URL Twilio called: CRM_PUBLIC_BASE_URL (scheme and host as Twilio sees them,
    behind any proxy) + the request's path and query."""
    base = (getattr(settings, "CRM_PUBLIC_BASE_URL", "") or "").rstrip("/")
    return f"{base}{path}" + (f"?{query}" if query else "")


def receive_twilio(url: str, params, signature: str, settings_header: str = "") -> Outcome:
    """A Twilio status callback (form fields ``params``), verified then stored once."""
    if not getattr(settings, "TWILIO_AUTH_TOKEN", "") or \
            not getattr(settings, "CRM_PUBLIC_BASE_URL", ""):
        raise ApiError(503, "not_configured", "Twilio callbacks are not configured "
                                              "(TWILIO_AUTH_TOKEN and CRM_PUBLIC_BASE_URL).")
    if not twilio_provider.valid_signature(url, params, signature or "", settings_header):
        raise _refused("X-Twilio-Signature")
    sid = (params.get("CallSid") or "").strip()
    status = (params.get("CallStatus") or "").strip()
    if not sid or not status:
        raise ApiError(400, "invalid", "A status callback carries CallSid and CallStatus.",
                       errors={"CallSid" if not sid else "CallStatus":
                               ["This field is required."]})
    sequence = (params.get("SequenceNumber") or params.get("Timestamp") or "").strip()
    payload = {key: params.get(key) for key in params}
    return _store(P.TWILIO, f"{sid}:{status}:{sequence}"[:120], f"call.{status}"[:60],
                  _rfc2822(params.get("Timestamp")), payload)


def _iso(value: str):
    moment = parse_datetime(value) if value else None
    if moment is not None and timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment


def _rfc2822(value):
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _store(provider: str, event_id: str, event_type: str, occurred_at, payload) -> Outcome:
    if connection.vendor == "postgresql" and connection.get_autocommit():
        return _store_postgresql(provider, event_id, event_type, occurred_at, payload)
    try:
        with transaction.atomic():
            event = ProviderEvent.objects.create(
                provider=provider, event_id=event_id, event_type=event_type,
                occurred_at=occurred_at, payload=payload)
            transaction.on_commit(lambda: enqueue(event.pk))
    except IntegrityError:
        return _duplicate(provider, event_id)
    return Outcome(event, duplicate=False)


_INSERT = f"""
    INSERT INTO {ProviderEvent._meta.db_table}
        (created_at, updated_at, provider, event_id, event_type, occurred_at, payload,
         status, error)
    VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, '')
    ON CONFLICT (provider, event_id) DO NOTHING
    RETURNING id"""


def _store_postgresql(provider, event_id, event_type, occurred_at, payload) -> Outcome:
    """One statement, one round trip (autocommit, outside any transaction): a new event
    is inserted and queued; an existing one is left alone (ON CONFLICT DO NOTHING)."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, [now, now, provider, event_id, event_type, occurred_at,
                                 json.dumps(payload, cls=DjangoJSONEncoder), E.RECEIVED])
        row = cursor.fetchone()
    if row is None:
        return _duplicate(provider, event_id)
    event = ProviderEvent(pk=row[0], provider=provider, event_id=event_id,
                          event_type=event_type, occurred_at=occurred_at, payload=payload,
                          status=E.RECEIVED, created_at=now, updated_at=now)
    enqueue(event.pk)
    return Outcome(event, duplicate=False)


def _duplicate(provider: str, event_id: str) -> Outcome:
    event = ProviderEvent.objects.filter(provider=provider, event_id=event_id).first()
    if event is None:  # deleted meanwhile: nothing to answer from
        raise ApiError(409, "conflict", "The event is being stored; deliver it again.")
    return Outcome(event, duplicate=True)


def enqueue(event_id: int) -> None:
    from .tasks import process_provider_event

    process_provider_event.delay(event_id)


# --- processing ------------------------------------------------------------------------------


def _voice_call(payload: dict, execution) -> Call | None:
    call = Call.objects.filter(provider_execution_id=execution.id).first()
    if call is not None:
        return call
    # The webhook can beat place_call's save of the execution id: the call id we sent.
    context = payload.get("context_details")
    holders = [payload.get("user_data"),
               context.get("recipient_data") if isinstance(context, dict) else None]
    for holder in holders:
        if isinstance(holder, dict) and str(holder.get("synapscale_call", "")).isdigit():
            call = Call.objects.filter(pk=int(holder["synapscale_call"]),
                                       provider_execution_id="").first()
            if call is not None:
                Call.objects.filter(pk=call.pk, provider_execution_id="").update(
                    provider_execution_id=execution.id)
                call.provider_execution_id = execution.id
                return call
    return None


def _translate(event: ProviderEvent):
    """(call, our status, data, execution or None) for the event."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    if event.provider == P.VOICE:
        from .services.calls import execution_data

        execution = bolna.parse_execution(payload)
        data = execution_data(execution)
        return _voice_call(payload, execution), execution.status, data, execution
    sid = payload.get("CallSid") or ""
    call = Call.objects.filter(provider_call_sid=sid).first() if sid else None
    data = {"recording_url": payload.get("RecordingUrl") or ""}
    duration = str(payload.get("CallDuration") or "")
    if duration.isdigit():
        data["duration_seconds"] = int(duration)
    return call, twilio_provider.call_status(payload.get("CallStatus") or ""), data, None


def process_event(event_id: int, *, replay: bool = False) -> str:
    """Apply a stored event once; returns its status.  ``replay``: also an event kept as
    ignored because its call was not known yet."""
    from .services import calls

    redo = (E.RECEIVED, E.IGNORED) if replay else (E.RECEIVED,)
    try:
        with transaction.atomic():
            event = ProviderEvent.objects.select_for_update().filter(pk=event_id).first()
            if event is None:
                return "gone"
            if event.status not in redo:
                return event.status
            call, status, data, execution = _translate(event)
            now = timezone.now()
            if call is None or status is None:
                event.status = E.IGNORED
                event.error = ("No call with this id (yet)." if call is None
                               else "Unknown call status.")
            else:
                calls.apply_event(call, status, occurred_at=event.occurred_at, data=data)
                if execution is not None and execution.transcript and \
                        execution.raw_status == "completed":
                    calls.store_transcript(call, bolna.transcript_turns(execution.transcript),
                                           summary=execution.summary,
                                           extracted=execution.extracted)
                event.status, event.error = E.PROCESSED, ""
                event.call, event.workspace_id = call, call.workspace_id
            event.processed_at = now
            event.save(update_fields=["status", "error", "call", "workspace", "processed_at",
                                      "updated_at"])
            return event.status
    except (OperationalError, InterfaceError):
        raise  # the database: the task retries
    except Exception as exc:  # anything else is this event's fault: keep it, with the reason
        log.exception("Provider event %s could not be processed", event_id)
        ProviderEvent.objects.filter(pk=event_id).update(
            status=E.FAILED, error=f"{type(exc).__name__}: {exc}"[:300],
            processed_at=timezone.now())
        return E.FAILED


def replay_waiting(provider: str, key: str) -> int:
    """Process again the events kept as ignored because no call was known by ``key``
    (an execution id or a Call SID) when they came; returns how many."""
    lookup = {"payload__id": key} if provider == P.VOICE else {"payload__CallSid": key}
    waiting = list(ProviderEvent.objects.filter(provider=provider, status=E.IGNORED,
                                                call__isnull=True, **lookup)
                   .order_by("occurred_at", "id").values_list("pk", flat=True))
    for pk in waiting:
        process_event(pk, replay=True)
    return len(waiting)
