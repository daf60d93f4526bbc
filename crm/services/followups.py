"""Follow-ups: made by hand (``create``) or by rules (``from_call``), completed or
cancelled (``complete``, ``cancel``), and reminded once by email (``send_reminders``).

Rule ``call_back``: a completed call whose intent (the transcript's extracted
``intent``, else the call's ``outcome``) asks to be called back gets one open follow-up
by call, channel call, assigned to the contact's owner, due at the time the transcript
extracted (``call_back_at`` / ``callback_at``, ISO 8601, when it is later than the call)
or one day after the call ended.  The rule runs once per call however often it is
applied (the follow-up names its call and rule).

Reminders (beat, every few minutes): open follow-ups due within the next hour, with an
assignee who has an email, and never reminded: one email each, ``reminded_at`` set in
the same transaction (rows locked, skipped when another run holds them), so a run
repeated or run twice at once sends nothing twice.  Every write leaves a timeline row.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from billing import clock
from core.api.errors import ApiError

from .. import scoring
from ..models import Call, Contact, FollowUp
from . import timeline

CALL_BACK = "call_back"
CALL_BACK_INTENTS = frozenset({"call_back", "callback"})
CALL_BACK_AT_FIELDS = ("call_back_at", "callback_at")
REMIND_AHEAD = timedelta(hours=1)


def _when(contact: Contact, at) -> datetime:
    return at or clock.now(contact.workspace_id)


def create(contact: Contact, *, due_at: datetime, channel: str = FollowUp.Channel.CALL,
           assignee=None, note: str = "", call: Call | None = None, rule: str = "",
           by=None) -> FollowUp:
    """A follow-up by hand (``rule`` empty) or by a rule; 400 on a bad channel or a
    naive due time."""
    if channel not in FollowUp.Channel.values:
        raise ApiError(400, "invalid", f"Unknown channel {channel!r}.",
                       errors={"channel": [f"One of {', '.join(FollowUp.Channel.values)}."]})
    if due_at is None or timezone.is_naive(due_at):
        raise ApiError(400, "invalid", "The due time needs a time zone.",
                       errors={"due_at": ["A date and time with a time zone is required."]})
    with transaction.atomic():
        follow_up = FollowUp.objects.create(
            workspace_id=contact.workspace_id, contact=contact, call=call, due_at=due_at,
            channel=channel, assignee=assignee, note=note, rule=rule)
        how = f" (rule {rule})" if rule else ""
        timeline.record(contact, "follow_up.created",
                        f"Follow-up by {follow_up.get_channel_display().lower()} due "
                        f"{due_at:%Y-%m-%d %H:%M %Z}{how}", source=follow_up,
                        data={"follow_up": follow_up.pk, "rule": rule,
                              "by": getattr(by, "pk", None)})
    return follow_up


def call_back_due(call: Call) -> datetime | None:
    """When the call asks to be called back (None when it does not)."""
    transcript = call.transcript if scoring._has_transcript(call) else None
    extracted = (transcript.extracted if transcript else None) or {}
    intent = (scoring.normalise_intent(extracted.get("intent"))
              or scoring.normalise_intent(call.outcome))
    if intent not in CALL_BACK_INTENTS:
        return None
    ended = call.ended_at or call.created_at
    for field in CALL_BACK_AT_FIELDS:
        raw = extracted.get(field)
        asked = parse_datetime(raw) if isinstance(raw, str) else None
        if asked is not None:
            if timezone.is_naive(asked):
                asked = timezone.make_aware(asked, UTC)
            if asked > ended:
                return asked
    return ended + timedelta(days=1)


def from_call(call: Call) -> FollowUp | None:
    """Apply the ``call_back`` rule to ``call`` (once per call); the follow-up or None."""
    if call.status != Call.Status.COMPLETED or call.contact_id is None:
        return None
    due = call_back_due(call)
    if due is None:
        return None
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=call.contact_id)
        existing = FollowUp.objects.filter(call=call, rule=CALL_BACK).first()
        if existing is not None:
            return existing
        return create(contact, due_at=due, channel=FollowUp.Channel.CALL,
                      assignee=contact.owner, call=call, rule=CALL_BACK,
                      note="Asked to be called back.")


def _close(follow_up: FollowUp, status: str, kind: str, verb: str, *, note: str = "",
           by=None) -> FollowUp:
    with transaction.atomic():
        follow_up = FollowUp.objects.select_for_update().select_related("contact").get(
            pk=follow_up.pk)
        if follow_up.status != FollowUp.Status.OPEN:
            raise ApiError(409, "not_open", f"The follow-up is already "
                                            f"{follow_up.get_status_display().lower()}.")
        now = clock.now(follow_up.workspace_id)
        follow_up.status = status
        fields = ["status", "updated_at"]
        if status == FollowUp.Status.DONE:
            follow_up.completed_at = now
            fields.append("completed_at")
        if note:
            follow_up.note = f"{follow_up.note}\n{note}".strip()
            fields.append("note")
        follow_up.save(update_fields=fields)
        timeline.record(follow_up.contact, kind, f"Follow-up {verb}", occurred_at=now,
                        source=follow_up, data={"follow_up": follow_up.pk,
                                                "by": getattr(by, "pk", None)})
    return follow_up


def complete(follow_up: FollowUp, *, note: str = "", by=None) -> FollowUp:
    """Mark an open follow-up done (409 ``not_open`` otherwise)."""
    return _close(follow_up, FollowUp.Status.DONE, "follow_up.completed", "done",
                  note=note, by=by)


def cancel(follow_up: FollowUp, *, note: str = "", by=None) -> FollowUp:
    """Cancel an open follow-up (409 ``not_open`` otherwise)."""
    return _close(follow_up, FollowUp.Status.CANCELLED, "follow_up.cancelled", "cancelled",
                  note=note, by=by)


def reminder_email(follow_up: FollowUp) -> tuple[str, str]:
    """(subject, body) of the reminder of ``follow_up``."""
    contact = follow_up.contact
    subject = f"Follow-up due: {contact} ({follow_up.get_channel_display().lower()})"
    lines = [f"A follow-up with {contact} is due at {follow_up.due_at:%Y-%m-%d %H:%M} UTC.",
             f"Channel: {follow_up.get_channel_display()}"]
    if contact.phone:
        lines.append(f"Phone: {contact.phone}")
    if contact.email:
        lines.append(f"Email: {contact.email}")
    if follow_up.note:
        lines.append(f"Note: {follow_up.note}")
    return subject, "\n".join(lines) + "\n"


def due_for_reminder(now: datetime):
    return (FollowUp.objects.filter(status=FollowUp.Status.OPEN, reminded_at__isnull=True,
                                    due_at__lte=now + REMIND_AHEAD,
                                    assignee__isnull=False)
            .exclude(assignee__email=""))


def send_reminders(now: datetime | None = None, limit: int = 500) -> int:
    """Email the assignee of each follow-up due within the hour, once; how many sent."""
    now = now or timezone.now()
    sent = 0
    ids = list(due_for_reminder(now).order_by("due_at").values_list("pk", flat=True)[:limit])
    for pk in ids:
        with transaction.atomic():
            follow_up = (FollowUp.objects.select_for_update(skip_locked=True, of=("self",))
                         .select_related("contact", "assignee")
                         .filter(pk=pk, reminded_at__isnull=True,
                                 status=FollowUp.Status.OPEN).first())
            if follow_up is None:
                continue
            subject, body = reminder_email(follow_up)
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [follow_up.assignee.email])
            follow_up.reminded_at = now
            follow_up.save(update_fields=["reminded_at", "updated_at"])
            timeline.record(follow_up.contact, "follow_up.reminded",
                            f"Reminder sent to {follow_up.assignee.email}", source=follow_up,
                            data={"follow_up": follow_up.pk})
            sent += 1
    return sent


def sweep_calls(since: datetime, limit: int = 1000) -> int:
    """Apply the ``call_back`` rule to completed calls ended since ``since`` that have no
    follow-up of it yet: a transcript stored after the call ended (it announces nothing)
    is seen here.  How many follow-ups were made."""
    candidates = (Call.objects.filter(status=Call.Status.COMPLETED, ended_at__gte=since,
                                      contact__isnull=False)
                  .exclude(follow_ups__rule=CALL_BACK)
                  .select_related("transcript").order_by("ended_at")[:limit])
    made = 0
    for call in candidates:
        if call_back_due(call) is not None and from_call(call) is not None:
            made += 1
    return made
