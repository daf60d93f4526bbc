"""Lead scores refined by an agent (LLM): after the rules score a contact (``scoring.score``),
a workspace whose ``CrmSettings.lead_score_agent`` names an agent has the worker ask
that agent — through the agents app's one door, ``agents.services.chat.run_turn``, so
the plan's tokens, the agent's quotas and the usage metering hold as for any chat — to
judge the contact's facts and answer ``{"score": 0..100, "reasons": ["…"]}``.

* The answer is checked strictly against ``ANSWER_SCHEMA`` (jsonschema, no other keys).
* The agent may move the score at most ``lead_score_max_adjustment`` points (default 15)
  either way from the rules score; a score beyond is held to that bound, then to 0..100.
  So a wild answer shifts a lead by one grade at most with the default.
* The refined score is a new ``LeadScore`` (method ``agent``) after the rules one, which
  stays: the rules reasons, plus one ``agent`` reason with the rules score, the agent's
  own score, the points applied and its reasons.
* Any failure — the agent not ready, a provider error, an answer that is not the JSON
  asked for, a quota or the plan refusing (429, 402) — leaves the rules score current
  and writes ``lead.refine_failed`` on the contact's timeline with the reason (the
  agents app logs provider and quota failures in its error log too).  Nothing raises.
* Customers score 100 by rule: they are not refined.  The nightly decay rescoring does
  not ask the agent (``scoring.score(refine=False)``): new facts do.

Facts sent: the contact's status, company, source, tags and failed connections; its last
calls (direction, status, times, duration, outcome, the transcript's summary and
extracted fields); its recent timeline (kind, summary, time).  Never phone numbers,
email addresses, recordings, custom fields or metadata.
"""

from __future__ import annotations

import json
import logging
import re
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from jsonschema import Draft202012Validator

from billing import clock

from .. import scoring
from ..models import Call, Contact, ContactEvent, CrmSettings, LeadScore
from . import timeline

log = logging.getLogger(__name__)

ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "score": {"type": "number", "minimum": 0, "maximum": 100},
        "reasons": {"type": "array", "minItems": 1, "maxItems": 10,
                    "items": {"type": "string", "minLength": 1, "maxLength": 300}},
    },
    "required": ["score", "reasons"],
    "additionalProperties": False,
}
_VALIDATOR = Draft202012Validator(ANSWER_SCHEMA)
RECENT_CALLS = 10
RECENT_EVENTS = 20
TEXT_CHARS = 600
FAILED = "lead.refine_failed"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
#: International numbers (+…) and runs of nine digits or more; not dates or times.
_PHONE = re.compile(r"\+\d[\d ().-]{5,}\d|\b\d{9,}\b")


class RefinementFailed(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def settings_of(workspace_id: int) -> CrmSettings | None:
    """The workspace's CRM settings when an agent refines its scores, else None."""
    return (CrmSettings.objects.select_related("lead_score_agent")
            .filter(workspace_id=workspace_id, lead_score_agent__isnull=False).first())


def wanted(row: LeadScore) -> bool:
    """Should this rules score be refined?  (Customers' 100 is a rule, not a judgement.)"""
    return (row.method == LeadScore.Method.RULES
            and not any(r.get("rule") == "converted" for r in row.reasons)
            and settings_of(row.workspace_id) is not None)


def schedule(row: LeadScore) -> None:
    """Queue the refinement of ``row`` once the transaction that wrote it commits."""
    from ..tasks_leads import refine_score

    if wanted(row):
        transaction.on_commit(lambda: refine_score.delay(row.pk))


def refine(score_id: int) -> LeadScore | None:
    """Ask the workspace's agent about the rules score ``score_id``; the new ``agent``
    score, or None (not configured, superseded by a newer score, or failed)."""
    row = LeadScore.objects.select_related("contact").filter(pk=score_id).first()
    if row is None or row.method != LeadScore.Method.RULES:
        return None
    config = settings_of(row.workspace_id)
    if config is None or _superseded(row):
        return None
    try:
        answer, conversation = _ask(config, row)
    except RefinementFailed as failure:
        log.info("Lead score %s not refined: %s", row.pk, failure.message)
        timeline.record(row.contact, FAILED, f"Agent refinement failed, the rules score "
                        f"stands: {failure.message}", source=row,
                        data={"score": row.pk, "code": failure.code,
                              "agent": config.lead_score_agent_id})
        return None
    return _store(row, config, answer, conversation)


def bounded(rules: Decimal, asked: float, max_adjustment: int) -> Decimal:
    """``asked`` held within ``max_adjustment`` points of ``rules``, then to 0..100."""
    low, high = rules - max_adjustment, rules + max_adjustment
    value = min(high, max(low, Decimal(str(asked))))
    return min(Decimal(100), max(Decimal(0), value)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def facts(contact: Contact, limit_calls: int = RECENT_CALLS) -> dict:
    """What the agent is told about ``contact`` (no contact details, no secrets)."""
    calls = (Call.objects.filter(contact=contact).select_related("transcript")
             .order_by("-created_at", "-id")[:limit_calls])
    events = (ContactEvent.objects.filter(contact=contact).exclude(kind__startswith="lead.")
              .order_by("-occurred_at", "-id")[:RECENT_EVENTS])
    return scrubbed({
        "contact": {"status": contact.status, "company": contact.company,
                    "source": str(contact.source or ""),
                    "tags": sorted(t.name for t in contact.tags.all()),
                    "failed_connections": contact.not_connected,
                    "do_not_call": contact.do_not_call},
        "calls": [_call_facts(c) for c in calls],
        "timeline": [{"at": e.occurred_at.isoformat(), "kind": e.kind,
                      "summary": e.summary[:TEXT_CHARS]} for e in events],
    })


def _call_facts(call: Call) -> dict:
    out = {"direction": call.direction, "status": call.status,
           "at": (call.ended_at or call.created_at).isoformat(),
           "duration_seconds": call.duration_seconds, "outcome": call.outcome,
           "intent": scoring.call_intent(call)}
    transcript = getattr(call, "transcript", None) if _has_transcript(call) else None
    if transcript is not None:
        out["summary"] = transcript.summary[:TEXT_CHARS]
        extracted = json.dumps(transcript.extracted, default=str)
        out["extracted"] = transcript.extracted if len(extracted) <= 4000 else "(too long)"
    return out


def _has_transcript(call: Call) -> bool:
    try:
        return call.transcript is not None
    except Call.transcript.RelatedObjectDoesNotExist:
        return False


def scrubbed(value):
    """``value`` with e-mail addresses and phone numbers in its strings replaced."""
    if isinstance(value, str):
        return _PHONE.sub("[number]", _EMAIL.sub("[email]", value))
    if isinstance(value, dict):
        return {k: scrubbed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrubbed(v) for v in value]
    return value


def prompt(row: LeadScore, max_adjustment: int) -> str:
    return (
        "Refine this sales lead's score.\n"
        f"The rules give {row.score} out of 100 (grade {row.grade}) for these reasons: "
        f"{json.dumps(row.reasons, default=str)}\n"
        f"What the CRM knows about the contact: {json.dumps(facts(row.contact), default=str)}"
        "\nJudge how likely the contact is to buy. Your score may differ from the rules "
        f"score by at most {max_adjustment} points; more is cut to that.\n"
        "Answer with JSON only, matching this JSON Schema:\n" + json.dumps(ANSWER_SCHEMA))


def _superseded(row: LeadScore) -> bool:
    return LeadScore.objects.filter(contact_id=row.contact_id, computed_at__gte=row.computed_at,
                                    pk__gt=row.pk).exists()


def _ask(config: CrmSettings, row: LeadScore) -> tuple[dict, int | None]:
    from agents.models import Conversation
    from agents.services.chat import run_turn
    from core.api.errors import ApiError

    try:
        result = run_turn(agent=config.lead_score_agent,
                          text=prompt(row, config.lead_score_max_adjustment),
                          principal=None, channel=Conversation.Channel.EVENT)
    except ApiError as error:  # quotas (429), the plan (402), provider, not ready, output
        raise RefinementFailed(error.error_code, error.message) from None
    return parse(result.output), result.conversation.pk


def parse(output) -> dict:
    """The agent's answer as a dict matching ``ANSWER_SCHEMA``, or RefinementFailed."""
    if isinstance(output, str):
        text = output.strip()
        if text.startswith("```"):  # models fence JSON even when told not to
            text = text.strip("`").removeprefix("json").strip()
        try:
            output = json.loads(text)
        except ValueError:
            raise RefinementFailed("invalid_answer", f"The answer is not JSON: "
                                   f"{text[:120]!r}") from None
    problems = sorted(_VALIDATOR.iter_errors(output), key=lambda e: list(e.path))
    if problems:
        where = ".".join(str(p) for p in problems[0].path) or "answer"
        raise RefinementFailed("invalid_answer", f"The answer does not match the schema: "
                               f"{where}: {problems[0].message}"[:280])
    return output


def _store(row: LeadScore, config: CrmSettings, answer: dict,
           conversation: int | None) -> LeadScore | None:
    value = bounded(row.score, answer["score"], config.lead_score_max_adjustment)
    grade = scoring.grade(value)
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=row.contact_id)
        if _superseded(row):  # a newer score came while the agent thought
            return None
        now = max(clock.now(contact.workspace_id), row.computed_at)
        refined = LeadScore.objects.create(
            workspace_id=row.workspace_id, contact=contact, computed_at=now, score=value,
            grade=grade, method=LeadScore.Method.AGENT, reasons=[*row.reasons, {
                "rule": "agent", "points": float(value - row.score),
                "source": f"lead_score:{row.pk}", "rules_score": str(row.score),
                "agent_score": answer["score"], "agent": config.lead_score_agent_id,
                "conversation": conversation,
                "max_adjustment": config.lead_score_max_adjustment,
                "reasons": answer["reasons"]}])
        if grade != row.grade:
            timeline.record(contact, "lead.graded",
                            f"Lead grade {grade}, score {value} (was {row.grade}; refined by "
                            f"agent {config.lead_score_agent})", occurred_at=now,
                            source=refined, data={"score": str(value), "grade": grade,
                                                  "previous": row.grade, "method": "agent"})
    return refined
