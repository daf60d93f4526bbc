"""Calls: placing one (switch, credits, provider), moving it forward as provider events
arrive, settling its credits, and its transcript.

Placing (``place_call``): the workspace's plan must have the ``voice_calls`` switch (402
``feature_not_in_plan``); a do-not-call contact (409 ``do_not_call``), a contact without
a phone (409 ``no_phone``) and an agent without a voice platform id (409
``agent_not_voice``) are refused before anything is written, and so is a contact already
on a call (409 ``call_in_progress``: placements queue on the contact's row, so two at
once never both pass).  The call row and a credits
hold (``call:<id>``: ``campaign.credits_per_call``, else ``CRM_CREDITS_PER_CALL``,
default 10) are written together, so a short balance (402 ``insufficient_credits``)
leaves nothing behind.  The provider is asked outside any transaction (no row lock held
over the network); when it fails the call is marked ``failed`` and the hold released
(nothing charged, ``not_connected`` unchanged: the contact was never dialled), and 502
``voice_provider_error`` names the call.

Events (``apply_event``): a call only moves forward, queued < ringing < in_progress <
final (completed, no_answer, busy, failed); a final status is terminal.  A late
"ringing" after "completed" changes nothing, so events in any order leave one state.
Details only fill in what is missing (recording, cost, provider ids, hangup reason); the
duration is frozen once the call is final (its credits were settled on it).

Credits on the final status: completed settles the hold at the real cost, **every
started minute** (``ceil(duration_seconds / 60)``) times ``CRM_CREDITS_PER_MINUTE``
(default 10): 61 s cost 2 minutes, 0 s nothing; a cost above the hold takes the
difference as far as the balance allows (billing's ``settle``).  no_answer, busy and
failed release the hold and add one to ``Contact.not_connected`` (an F() update, safe
under concurrent events).  ``Call.credits_charged`` is what the ledger took.
Every final status writes a timeline row (``call.<status>``) and emits ``crm.call.ended``;
completed also emits ``crm.call.completed``.
"""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from billing import clock, entitlements
from billing.models import CreditTransaction
from billing.services import credits
from core import events
from core.api.errors import ApiError

from .. import events as crm_events
from ..models import Call, Contact, PhoneNumber, Transcript
from ..phones import normalize
from ..providers import ProviderError
from . import timeline

S = Call.Status
FINAL = frozenset(Call.FINAL)
NOT_CONNECTED = frozenset({S.NO_ANSWER, S.BUSY, S.FAILED})
RANK = {S.QUEUED: 0, S.RINGING: 1, S.IN_PROGRESS: 2, S.COMPLETED: 3, S.NO_ANSWER: 3,
        S.BUSY: 3, S.FAILED: 3}
FEATURE = "voice_calls"
#: A call not final after this long no longer blocks new calls to its contact (its
#: webhooks were lost; reconcile_stale_calls fetches its real state).
ACTIVE_WINDOW = timedelta(hours=2)
SOURCE_TYPE = "crm.call"  # the credits ledger's source of a call's hold

_SUMMARIES = {S.COMPLETED: "Call completed", S.NO_ANSWER: "Call not answered",
              S.BUSY: "Line busy", S.FAILED: "Call failed"}


class CallPlacementFailed(ApiError):
    """The voice platform did not take the call; the call row is kept as failed."""

    def __init__(self, call: Call, error: ProviderError):
        status = 503 if error.code in ("not_configured", "refused") else 502
        super().__init__(status, "voice_provider_error",
                         f"The call could not be placed: {error.message}",
                         errors={"call": call.pk, "provider_code": error.code,
                                 "may_have_been_placed": bool(error.sent)})
        self.call = call
        self.error = error


# --- amounts -------------------------------------------------------------------------------


def _decimal_setting(name: str, default: int) -> Decimal:
    return Decimal(str(getattr(settings, name, default)))


def credits_per_call(campaign=None) -> Decimal:
    """Credits reserved before a call: the campaign's, else ``CRM_CREDITS_PER_CALL``."""
    if campaign is not None and campaign.credits_per_call is not None:
        return Decimal(campaign.credits_per_call)
    return _decimal_setting("CRM_CREDITS_PER_CALL", 10)


def credits_for(duration_seconds: int) -> Decimal:
    """What a completed call costs: every started minute times CRM_CREDITS_PER_MINUTE."""
    minutes = math.ceil(max(0, int(duration_seconds or 0)) / 60)
    return minutes * _decimal_setting("CRM_CREDITS_PER_MINUTE", 10)


def hold_reference(call: Call) -> str:
    return f"call:{call.pk}"


def hold_of(call: Call) -> CreditTransaction | None:
    return CreditTransaction.objects.filter(
        workspace_id=call.workspace_id, reference=hold_reference(call),
        kind=CreditTransaction.Kind.HOLD).first()


# --- the timeline ----------------------------------------------------------------------------


def _timeline(call: Call, kind: str, summary: str, *, occurred_at, data: dict | None = None):
    """A row on the call's contact's timeline (crm.services.timeline)."""
    if call.contact_id is None:
        return
    contact = Contact(pk=call.contact_id, workspace_id=call.workspace_id)  # no query needed
    timeline.record(contact, kind, summary[:300], occurred_at=occurred_at, source=call,
                    data=data or {})


# --- placing a call ----------------------------------------------------------------------------


def _refuse(status: int, code: str, message: str, field: str):
    raise ApiError(status, code, message, errors={field: [message]})


def _from_number(workspace_id: int, agent, campaign, from_number) -> PhoneNumber:
    numbers = PhoneNumber.objects.filter(workspace_id=workspace_id, is_active=True)
    if isinstance(from_number, PhoneNumber):
        if from_number.workspace_id != workspace_id or not from_number.is_active:
            _refuse(400, "invalid", "The number to call from is not an active number of "
                                    "this workspace.", "from_number")
        return from_number
    if from_number:
        try:
            number = normalize(str(from_number))
        except ValidationError:
            _refuse(400, "invalid", f"{str(from_number)[:40]!r} is not a phone number.",
                    "from_number")
        found = numbers.filter(number=number).first()
        if found is None:
            _refuse(400, "invalid", f"{str(from_number)[:40]} is not an active number of "
                                    "this workspace.", "from_number")
        return found
    pools = []
    if campaign is not None:
        pools.append(numbers.filter(campaigns=campaign))
    pools += [numbers.filter(agent=agent), numbers.filter(capabilities__contains=["voice"])]
    for pool in pools:
        found = pool.order_by("number").first()
        if found is not None:
            return found
    _refuse(409, "no_phone_number", "The workspace has no active voice number to call from.",
            "from_number")


def _check(workspace_id: int, agent, contact: Contact, campaign) -> None:
    for name, obj in (("agent", agent), ("contact", contact), ("campaign", campaign)):
        if obj is not None and obj.workspace_id != workspace_id:
            _refuse(400, "invalid", f"The {name} belongs to another workspace.", name)
    if contact.do_not_call:
        _refuse(409, "do_not_call", "This contact is on the do-not-call list.", "contact")
    if not contact.phone:
        _refuse(409, "no_phone", "This contact has no phone number.", "contact")
    if not agent.voice_provider_agent_id:
        _refuse(409, "agent_not_voice", "The agent has no voice platform agent id "
                                        "(voice_provider_agent_id).", "agent")


def place_call(*, workspace, agent, contact: Contact, from_number=None, campaign=None,
               by=None, provider=None) -> Call:
    """Call ``contact`` with voice ``agent``; returns the queued call with its execution
    id.  ``from_number``: a PhoneNumber or an E.164 number of the workspace (default: the
    campaign's pool, then the agent's numbers, then any voice number).  ``provider``: a
    Bolna client (tests); the settings' one by default."""
    workspace_id = workspace.pk
    entitlements.require(workspace_id, FEATURE)
    _check(workspace_id, agent, contact, campaign)
    number = _from_number(workspace_id, agent, campaign, from_number)
    amount = credits_per_call(campaign)
    now = clock.now(workspace_id)
    with transaction.atomic():
        # One call at a time per contact: parallel placements queue on the contact's row
        # (NO KEY UPDATE: timeline rows pointing at the contact are not held up).
        fresh = (Contact.objects.select_for_update(no_key=True).filter(pk=contact.pk)
                 .values("do_not_call", "phone").first())
        if fresh is None or fresh["do_not_call"] or not fresh["phone"]:
            _check(workspace_id, agent, Contact(**(fresh or {"phone": ""}),
                                                workspace_id=workspace_id), campaign)
        # created_at is the real time a row was written (not the billing clock's "now").
        busy = (Call.objects.filter(contact_id=contact.pk,
                                    created_at__gte=timezone.now() - ACTIVE_WINDOW)
                .exclude(status__in=FINAL).first())
        if busy is not None:
            _refuse(409, "call_in_progress", f"This contact is already on a call (call "
                                             f"{busy.pk}).", "contact")
        call = Call.objects.create(
            workspace_id=workspace_id, direction=Call.Direction.OUTBOUND,
            from_number=number.number, to_number=contact.phone, contact=contact, agent=agent,
            phone_number=number, campaign=campaign, status=S.QUEUED, started_at=now,
            placed_by=by if getattr(by, "pk", None) else None)
        if amount > 0:
            credits.hold(workspace_id, amount, reference=hold_reference(call),
                         source_type=SOURCE_TYPE, source_id=str(call.pk),
                         description=f"Call to {contact.phone}")
    if provider is None:
        from ..providers import bolna

        provider = bolna.client()
    try:
        execution_id = provider.place_call(
            agent_id=agent.voice_provider_agent_id, recipient=contact.phone,
            from_number=number.number,
            user_data={"synapscale_call": call.pk, "synapscale_workspace": workspace_id})
    except ProviderError as error:
        _placement_failed(call, error)
        raise CallPlacementFailed(call, error) from None
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call.pk)
        if not call.provider_execution_id:
            call.provider_execution_id = execution_id
            call.save(update_fields=["provider_execution_id", "updated_at"])
        Contact.objects.filter(pk=contact.pk).update(last_contacted_at=now)
        _timeline(call, "call.placed", f"Call placed to {contact.phone}", occurred_at=now,
                  data={"call": call.pk, "agent": agent.pk, "from": number.number,
                        "credits_reserved": str(amount)})
        transaction.on_commit(lambda: _replay("voice", execution_id))
    return call


def _placement_failed(call: Call, error: ProviderError) -> None:
    now = clock.now(call.workspace_id)
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call.pk)
        if call.status in FINAL:
            return
        call.status = S.FAILED
        call.ended_at = now
        call.hangup_reason = "not_placed"
        call.metadata = {**call.metadata, "placement_error": {
            "code": error.code, "message": error.message[:300], "sent": bool(error.sent)}}
        hold = hold_of(call)
        if hold is not None:
            credits.settle(hold, 0)
        call.credits_charged = Decimal(0)
        call.save(update_fields=["status", "ended_at", "hangup_reason", "metadata",
                                 "credits_charged", "updated_at"])
        _timeline(call, "call.failed", f"Call could not be placed: {error.message}"[:300],
                  occurred_at=now, data={"call": call.pk, "provider_code": error.code})
        _emit(call)


def _replay(provider: str, key: str) -> None:
    """Process again the events that arrived before the call was known by ``key``."""
    from ..webhooks import replay_waiting

    replay_waiting(provider, key)


# --- events ------------------------------------------------------------------------------------


def _fill(call: Call, data: dict, fields: set) -> str:
    """Fill in details the call lacks; returns a newly learnt Twilio call SID."""
    learnt = ""
    sid = (data.get("provider_call_sid") or "")[:64]
    if sid and not call.provider_call_sid and \
            not Call.objects.filter(provider_call_sid=sid).exclude(pk=call.pk).exists():
        call.provider_call_sid = learnt = sid
        fields.add("provider_call_sid")
    for name, limit in (("provider_conversation_id", 100), ("recording_url", 500),
                        ("hangup_reason", 120), ("outcome", 60)):
        value = data.get(name)
        if value and not getattr(call, name):
            setattr(call, name, str(value)[:limit])
            fields.add(name)
    cost = data.get("cost")
    if cost is not None and not call.cost:
        call.cost = Decimal(cost)
        fields.add("cost")
    duration = data.get("duration_seconds")
    if duration is not None and call.status not in FINAL and duration != call.duration_seconds:
        call.duration_seconds = max(0, int(duration))
        fields.add("duration_seconds")
    return learnt


def apply_event(call: Call, status: str, *, occurred_at=None, data: dict | None = None) -> bool:
    """Apply a provider's ``status`` (ours, ``Call.Status``) with ``data`` (any of
    duration_seconds, cost, recording_url, hangup_reason, provider_call_sid,
    provider_conversation_id, outcome, answered_at, ended_at).  Forward only; returns
    whether anything changed."""
    if status not in RANK:
        raise ValueError(f"Unknown call status {status!r}.")
    data = data or {}
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call.pk)
        occurred = occurred_at or clock.now(call.workspace_id)
        fields: set[str] = set()
        moves = call.status not in FINAL and RANK[status] > RANK[call.status]
        learnt_sid = _fill(call, data, fields)
        if moves:
            call.status = status
            fields.add("status")
            if status == S.IN_PROGRESS and call.answered_at is None:
                call.answered_at = data.get("answered_at") or occurred
                fields.add("answered_at")
            if status in FINAL:
                call.ended_at = data.get("ended_at") or occurred
                fields.add("ended_at")
                if status == S.COMPLETED and call.answered_at is None and call.duration_seconds:
                    call.answered_at = call.ended_at - timedelta(seconds=call.duration_seconds)
                    fields.add("answered_at")
        if fields:
            call.save(update_fields=[*sorted(fields), "updated_at"])
        if moves and status in FINAL:
            _finish(call, occurred)
        if learnt_sid:
            transaction.on_commit(lambda: _replay("twilio", learnt_sid))
    return bool(fields)


def _finish(call: Call, occurred) -> None:
    """Settle the credits, count a failed connection, write the timeline, announce it."""
    hold = hold_of(call)
    charged = Decimal(0)
    if call.status == S.COMPLETED:
        if hold is not None:
            tx = credits.settle(hold, credits_for(call.duration_seconds))
            charged = -hold.amount - tx.amount
    else:
        # The contact's row before the ledger's lock, in the order place_call takes them.
        if call.contact_id is not None:
            Contact.objects.filter(pk=call.contact_id).update(
                not_connected=F("not_connected") + 1)
        if hold is not None:
            credits.settle(hold, 0)
    if charged != call.credits_charged:
        call.credits_charged = charged
        call.save(update_fields=["credits_charged", "updated_at"])
    summary = _SUMMARIES[call.status]
    if call.status == S.COMPLETED:
        minutes, seconds = divmod(call.duration_seconds, 60)
        summary += f" ({minutes} min {seconds} s)"
    _timeline(call, f"call.{call.status}", summary, occurred_at=occurred,
              data={"call": call.pk, "duration_seconds": call.duration_seconds,
                    "credits_charged": str(charged), "hangup_reason": call.hangup_reason})
    _emit(call)


def _number(value) -> str:
    text = f"{Decimal(value).normalize():f}"
    return "0" if text in ("-0", "") else text


def _emit(call: Call) -> None:
    payload = {"call": call.pk, "contact": call.contact_id, "agent": call.agent_id,
               "campaign": call.campaign_id, "status": call.status,
               "direction": call.direction, "duration_seconds": call.duration_seconds,
               "credits_charged": _number(call.credits_charged), "cost": _number(call.cost),
               "outcome": call.outcome}
    events.emit(crm_events.CALL_ENDED, payload, workspace_id=call.workspace_id)
    if call.status == S.COMPLETED:
        events.emit(crm_events.CALL_COMPLETED, payload, workspace_id=call.workspace_id)


def execution_data(execution) -> dict:
    """What ``apply_event`` takes from a Bolna execution."""
    return {"duration_seconds": execution.duration_seconds, "cost": execution.cost,
            "recording_url": execution.recording_url, "hangup_reason": execution.hangup_reason,
            "provider_call_sid": execution.provider_call_sid}


def refresh_from_provider(call: Call, *, provider=None) -> Call:
    """Ask the voice platform for the call's execution and apply it like an event (for
    calls whose webhooks never came); its transcript too once it is completed.
    ProviderError when the platform cannot answer."""
    if not call.provider_execution_id:
        raise ApiError(409, "not_placed", "The call has no voice platform execution.",
                       errors={"call": ["The call has no voice platform execution."]})
    if provider is None:
        from ..providers import bolna

        provider = bolna.client()
    from ..providers.bolna import transcript_turns

    execution = provider.fetch_execution(call.provider_execution_id)
    if execution.status is not None:
        apply_event(call, execution.status, data=execution_data(execution))
    if execution.transcript and execution.raw_status == "completed":
        store_transcript(call, transcript_turns(execution.transcript),
                         summary=execution.summary, extracted=execution.extracted)
    call.refresh_from_db()
    return call


def stale_calls(older_than_minutes: int = 30):
    """Outbound calls placed more than ``older_than_minutes`` ago that are still not
    final: their webhooks may have been lost."""
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    return (Call.objects.exclude(status__in=FINAL).exclude(provider_execution_id="")
            .filter(created_at__lt=cutoff).order_by("created_at"))


# --- transcripts -------------------------------------------------------------------------------


def _valid_turns(turns) -> list[dict]:
    if not isinstance(turns, list) or not all(
            isinstance(t, dict) and isinstance(t.get("text", ""), str) and t.get("speaker")
            for t in turns):
        raise ApiError(400, "invalid", "Turns are a list of objects with a speaker and a text.",
                       errors={"turns": ["A list of {speaker, text} objects is required."]})
    return turns


def store_transcript(call: Call, turns, *, summary: str = "", extracted: dict | None = None,
                     language: str = "") -> Transcript:
    """Store (or replace) the call's transcript.  ``analysis_status`` is ``completed``
    when a summary or extracted fields come with it (the platform analysed the call),
    else ``pending`` (for the CRM's own analysis)."""
    turns = _valid_turns(turns)
    if extracted is not None and not isinstance(extracted, dict):
        raise ApiError(400, "invalid", "Extracted fields are a JSON object.",
                       errors={"extracted": ["A JSON object is required."]})
    analysed = bool(summary or extracted)
    status = Transcript.AnalysisStatus.COMPLETED if analysed else \
        Transcript.AnalysisStatus.PENDING
    with transaction.atomic():
        transcript, created = Transcript.objects.select_for_update().get_or_create(
            call=call, defaults={"workspace_id": call.workspace_id})
        transcript.turns = turns
        transcript.summary = summary or transcript.summary
        transcript.extracted = extracted if extracted is not None else transcript.extracted
        transcript.language = (language or transcript.language)[:16]
        if analysed or transcript.analysis_status != Transcript.AnalysisStatus.COMPLETED:
            transcript.analysis_status = status
        transcript.save()
        if created:
            _timeline(call, "call.transcribed", f"Transcript of the call ({len(turns)} turns)",
                      occurred_at=clock.now(call.workspace_id),
                      data={"call": call.pk, "transcript": transcript.pk})
    return transcript
