"""Lead scoring rules, declared once: what each fact about a contact is worth.

A contact's score is the sum of its contributions, each decayed by its age with a
half-life of ``CRM_SCORE_HALF_LIFE_DAYS`` (default 14)::

    decayed = points * 0.5 ** (age_days / half_life)

then clamped to 0..100.  A converted contact (a ``Customer`` row) scores 100 whatever
else is true.  Grades: A ≥ 75, B ≥ 50, C ≥ 25, else D.

Only facts the CRM stores are rules: calls (status, duration), the call's intent (the
transcript's extracted ``intent``, else the call's ``outcome``) and conversion.  No
email-open or page-visit rules: nothing records those.  An intent counts once per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings

#: Points of each rule (before decay).  Reasons name the rule by these keys.
RULES: dict[str, int] = {
    "call_completed": 20,        # each answered call
    "long_call": 10,             # each answered call longer than LONG_CALL_SECONDS
    "intent_interested": 25,     # the call's intent is "interested"
    "intent_call_back": 10,      # … "call_back"
    "intent_not_interested": -30,  # … "not_interested"
    "not_connected": -5,         # each call not answered (no answer, busy, failed) …
}
#: … counting only the most recent ``NOT_CONNECTED_CAP`` of them (at most -20 before decay).
NOT_CONNECTED_CAP = 4
LONG_CALL_SECONDS = 120
#: A call the voice platform refused before dialling (crm.services.calls marks it so):
#: the contact was never called, so it counts for nothing (as for ``not_connected``).
NOT_PLACED = "not_placed"
CONVERTED_SCORE = Decimal(100)

#: Intents (normalised: lower case, spaces and dashes as underscores) → rule.
INTENT_RULES = {"interested": "intent_interested", "call_back": "intent_call_back",
                "callback": "intent_call_back", "not_interested": "intent_not_interested"}

GRADES = ((75, "A"), (50, "B"), (25, "C"))


def half_life_days() -> float:
    return float(getattr(settings, "CRM_SCORE_HALF_LIFE_DAYS", 14) or 14)


@dataclass(frozen=True)
class Contribution:
    rule: str
    points: int
    occurred_at: datetime
    source: str = ""   # e.g. "call:12"

    def age_days(self, now: datetime) -> float:
        return max(0.0, (now - self.occurred_at).total_seconds() / 86400)

    def decayed(self, now: datetime, half_life: float) -> float:
        return self.points * 0.5 ** (self.age_days(now) / half_life)


def normalise_intent(value) -> str:
    if not isinstance(value, str):
        return ""
    return value.strip().lower().replace(" ", "_").replace("-", "_")


def call_intent(call) -> str:
    """The call's intent: its transcript's extracted ``intent``, else its ``outcome``."""
    transcript = getattr(call, "transcript", None) if _has_transcript(call) else None
    extracted = getattr(transcript, "extracted", None) or {}
    return normalise_intent(extracted.get("intent")) or normalise_intent(call.outcome)


def _has_transcript(call) -> bool:
    try:
        return call.transcript is not None
    except Exception:  # RelatedObjectDoesNotExist
        return False


def contributions(calls, *, completed: str, not_connected: frozenset) -> list[Contribution]:
    """The rules applied to ``calls`` (final calls of one contact, newest first)."""
    out: list[Contribution] = []
    missed = 0
    for call in calls:
        if call.hangup_reason == NOT_PLACED:
            continue
        when = call.ended_at or call.created_at
        source = f"call:{call.pk}"
        if call.status == completed:
            out.append(Contribution("call_completed", RULES["call_completed"], when, source))
            if call.duration_seconds > LONG_CALL_SECONDS:
                out.append(Contribution("long_call", RULES["long_call"], when, source))
            rule = INTENT_RULES.get(call_intent(call))
            if rule:
                out.append(Contribution(rule, RULES[rule], when, source))
        elif call.status in not_connected and missed < NOT_CONNECTED_CAP:
            missed += 1
            out.append(Contribution("not_connected", RULES["not_connected"], when, source))
    return out


def total(parts: list[Contribution], now: datetime, half_life: float) -> Decimal:
    raw = sum(p.decayed(now, half_life) for p in parts)
    return Decimal(str(round(min(100.0, max(0.0, raw)), 2))).quantize(Decimal("0.01"))


def grade(score) -> str:
    for threshold, letter in GRADES:
        if score >= threshold:
            return letter
    return "D"
