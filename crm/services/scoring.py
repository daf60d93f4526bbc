"""Lead scores: ``score(contact)`` appends a ``LeadScore`` computed by the rules of
``crm.scoring`` (time decay, clamp, grade) with one reason per contribution, and writes
``lead.graded`` on the contact's timeline when the grade changes (the first score too).

Recomputed when the CRM announces something about the contact (``crm.call.ended`` —
which accompanies every ``crm.call.completed`` — and ``crm.contact.converted``: see
``on_event``) and nightly for contacts with recent activity (decay moves scores with
no new event: ``crm.tasks_leads.rescore_active``).

When the workspace names an agent in its CRM settings, each rules score written with
``refine=True`` (events, the API's "score now") is then refined by that agent on the
worker (``crm.services.lead_agent``: a second row, method ``agent``); the nightly decay
rescoring does not ask it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction

from billing import clock

from .. import scoring
from ..models import Call, Contact, ContactEvent, Customer, LeadScore
from . import lead_agent, timeline

log = logging.getLogger(__name__)

NOT_CONNECTED = frozenset({Call.Status.NO_ANSWER, Call.Status.BUSY, Call.Status.FAILED})


def _reasons(parts, now: datetime, half_life: float) -> list[dict]:
    return [{"rule": p.rule, "points": p.points, "source": p.source,
             "age_days": round(p.age_days(now), 2),
             "decayed": round(p.decayed(now, half_life), 2)} for p in parts]


def compute(contact: Contact, now: datetime | None = None) -> tuple:
    """``(score, grade, reasons)`` of ``contact`` at ``now`` without writing anything."""
    now = now or clock.now(contact.workspace_id)
    half_life = scoring.half_life_days()
    calls = (Call.objects.filter(contact=contact, status__in=Call.FINAL, created_at__lte=now)
             .select_related("transcript").order_by("-created_at", "-id"))
    parts = [p for p in scoring.contributions(calls, completed=Call.Status.COMPLETED,
                                              not_connected=NOT_CONNECTED)
             if p.occurred_at <= now]
    reasons = _reasons(parts, now, half_life)
    customer = Customer.objects.filter(contact=contact, converted_at__lte=now).first()
    if customer is not None:
        value = scoring.CONVERTED_SCORE
        reasons.insert(0, {"rule": "converted", "points": 100, "source": f"customer:{customer.pk}",
                           "age_days": round(max(0.0, (now - customer.converted_at)
                                                 .total_seconds() / 86400), 2),
                           "decayed": 100.0, "note": "a customer scores 100"})
    else:
        value = scoring.total(parts, now, half_life)
    return value, scoring.grade(value), reasons


def score(contact: Contact, now: datetime | None = None, *, refine: bool = True) -> LeadScore:
    """Append the contact's current score (and a timeline event when its grade changed).
    Scores of one contact are written one at a time (its row is locked).  ``refine``:
    queue the agent's refinement after commit when the workspace has one."""
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        now = now or clock.now(contact.workspace_id)
        value, grade, reasons = compute(contact, now)
        previous = LeadScore.objects.filter(contact=contact).order_by("-computed_at",
                                                                      "-id").first()
        row = LeadScore.objects.create(workspace_id=contact.workspace_id, contact=contact,
                                       computed_at=now, score=value, grade=grade,
                                       method=LeadScore.Method.RULES, reasons=reasons)
        if previous is None or previous.grade != grade:
            was = f" (was {previous.grade})" if previous else ""
            timeline.record(contact, "lead.graded",
                            f"Lead grade {grade}, score {value}{was}", occurred_at=now,
                            source=row, data={"score": str(value), "grade": grade,
                                              "previous": previous.grade if previous else None})
        if refine:
            lead_agent.schedule(row)
    return row


def current(contact: Contact) -> LeadScore | None:
    return LeadScore.objects.filter(contact=contact).order_by("-computed_at", "-id").first()


def active_contacts(since: datetime, workspace_id: int | None = None):
    """Contacts with something on their timeline since ``since`` other than their own
    grading (a score would otherwise keep a contact "active" forever); merged-away
    contacts are left out.  Past the window a score decays no further in the table."""
    events = ContactEvent.objects.filter(occurred_at__gte=since).exclude(
        kind__startswith="lead.")
    if workspace_id is not None:
        events = events.filter(workspace_id=workspace_id)
    ids = events.values("contact_id")
    return Contact.objects.filter(pk__in=ids, merged_into__isnull=True).order_by("pk")


def rescore_active(days: int = 60, workspace_id: int | None = None) -> int:
    """Score again every contact active in the last ``days`` days (decay)."""
    from django.utils import timezone

    done = 0
    for contact in active_contacts(timezone.now() - timedelta(days=days), workspace_id):
        score(contact, refine=False)
        done += 1
    return done
