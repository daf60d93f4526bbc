"""Lead scoring: rules with time decay (half-life), clamped, graded; a timeline event
when the grade changes; scored again when a call ends or a contact converts."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core import events
from crm import events as crm_events
from crm import lead_events, scoring
from crm.models import Call, ContactEvent, LeadScore
from crm.services import scoring as services
from tests.factories import CallFactory, ContactFactory, CustomerFactory, TranscriptFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
S = Call.Status


def call(contact, days_ago, *, status=S.COMPLETED, duration=60, outcome="", intent=None):
    ended = NOW - timedelta(days=days_ago)
    made = CallFactory(workspace=contact.workspace, contact=contact, status=status,
                       duration_seconds=duration, outcome=outcome, ended_at=ended)
    Call.objects.filter(pk=made.pk).update(created_at=ended - timedelta(seconds=duration))
    if intent is not None:
        TranscriptFactory(workspace=contact.workspace, call=made, extracted={"intent": intent})
    return made


def test_decay_is_hand_computed():
    contact = ContactFactory()
    call(contact, 14)                         # +20 two weeks ago: one half-life -> 10.0
    call(contact, 28, intent="Interested")    # +20 -> 5.0 and +25 -> 6.25 (two half-lives)
    row = services.score(contact, now=NOW)
    assert row.score == Decimal("21.25")
    assert row.grade == "D"
    assert row.method == LeadScore.Method.RULES
    by_rule = sorted((r["rule"], r["points"], r["age_days"], r["decayed"]) for r in row.reasons)
    assert by_rule == [("call_completed", 20, 14.0, 10.0), ("call_completed", 20, 28.0, 5.0),
                       ("intent_interested", 25, 28.0, 6.25)]


def test_half_life_comes_from_settings(settings):
    settings.CRM_SCORE_HALF_LIFE_DAYS = 7
    contact = ContactFactory()
    call(contact, 14)                         # two half-lives of 7 days: 20 / 4
    assert services.score(contact, now=NOW).score == Decimal("5.00")


def test_fresh_long_interested_call_and_the_grade_thresholds():
    contact = ContactFactory()
    call(contact, 0, duration=300, outcome="interested")   # 20 + 10 + 25, no decay
    row = services.score(contact, now=NOW)
    assert row.score == Decimal("55.00") and row.grade == "B"
    assert [scoring.grade(v) for v in (75, Decimal("74.99"), 50, 25, Decimal("24.99"), 0)] == \
        ["A", "B", "B", "C", "D", "D"]


def test_missed_calls_count_at_most_four_and_the_score_never_goes_below_zero():
    contact = ContactFactory()
    call(contact, 0, duration=300, outcome="interested")   # 55
    for _ in range(6):
        call(contact, 0, status=S.NO_ANSWER, duration=0)    # -5 each, only four count
    row = services.score(contact, now=NOW)
    assert row.score == Decimal("35.00") and row.grade == "C"
    assert sum(r["rule"] == "not_connected" for r in row.reasons) == 4
    other = ContactFactory()
    call(other, 1, outcome="not_interested")                # 20 - 30 (decayed) < 0
    assert services.score(other, now=NOW).score == Decimal("0.00")


def test_a_customer_scores_100():
    contact = ContactFactory()
    CustomerFactory(workspace=contact.workspace, contact=contact,
                    converted_at=NOW - timedelta(days=90))
    row = services.score(contact, now=NOW)
    assert (row.score, row.grade) == (Decimal("100.00"), "A")
    assert row.reasons[0]["rule"] == "converted"


def test_scores_append_and_the_timeline_hears_of_grade_changes_only():
    contact = ContactFactory()
    services.score(contact, now=NOW)
    services.score(contact, now=NOW + timedelta(hours=1))
    call(contact, -1, duration=300, outcome="interested")   # a day after NOW
    services.score(contact, now=NOW + timedelta(days=1))
    assert LeadScore.objects.filter(contact=contact).count() == 3
    graded = list(ContactEvent.objects.filter(contact=contact, kind="lead.graded")
                  .order_by("occurred_at").values_list("summary", flat=True))
    assert graded == ["Lead grade D, score 0.00", "Lead grade B, score 55.00 (was D)"]
    assert services.current(contact).grade == "B"


def test_calls_after_now_do_not_count():
    contact = ContactFactory()
    call(contact, -2)
    assert services.score(contact, now=NOW).score == Decimal("0.00")


def _ended(made: Call) -> dict:
    """The crm.call.ended payload of ``made``, as crm.services.calls sends it."""
    return {"call": made.pk, "contact": made.contact_id, "agent": made.agent_id,
            "campaign": made.campaign_id, "status": made.status,
            "direction": made.direction, "duration_seconds": made.duration_seconds,
            "credits_charged": "0", "cost": "0", "outcome": made.outcome}


def test_an_ended_call_and_a_conversion_score_the_contact_again(
        django_capture_on_commit_callbacks):
    contact = ContactFactory()
    made = call(contact, 0)
    lead_events.connect()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            events.emit(crm_events.CALL_COMPLETED, _ended(made),
                        workspace_id=contact.workspace_id)
            events.emit(crm_events.CALL_ENDED, _ended(made), workspace_id=contact.workspace_id)
        assert LeadScore.objects.filter(contact=contact).count() == 1   # not twice
        customer = CustomerFactory(workspace=contact.workspace, contact=contact)
        with django_capture_on_commit_callbacks(execute=True):
            events.emit(crm_events.CONTACT_CONVERTED,
                        {"contact": contact.pk, "customer": customer.pk, "value": 0,
                         "currency": "USD"}, workspace_id=contact.workspace_id)
    finally:
        events.unsubscribe(lead_events.handle)
    assert services.current(contact).grade == "A"


def test_nightly_rescore_takes_active_contacts_only():
    active, idle = ContactFactory(), ContactFactory()
    ContactEvent.objects.create(workspace=active.workspace, contact=active, kind="note.added",
                                summary="Note", occurred_at=datetime.now(UTC))
    assert services.rescore_active(days=30) == 1
    assert LeadScore.objects.filter(contact=active).count() == 1
    assert not LeadScore.objects.filter(contact=idle).exists()


def test_a_call_never_placed_counts_for_nothing_and_scores_nobody(
        django_capture_on_commit_callbacks):
    contact = ContactFactory()
    refused = call(contact, 0, status=S.FAILED)
    Call.objects.filter(pk=refused.pk).update(hangup_reason="not_placed")
    missed = call(contact, 0, status=S.FAILED)
    row = services.score(contact, now=NOW)
    assert [r["source"] for r in row.reasons] == [f"call:{missed.pk}"]
    lead_events.connect()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            events.emit(crm_events.CALL_ENDED, _ended(refused),
                        workspace_id=contact.workspace_id)
    finally:
        events.unsubscribe(lead_events.handle)
    assert LeadScore.objects.filter(contact=contact).count() == 1
