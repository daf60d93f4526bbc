"""Follow-ups: the call-back rule (asked time or a day later, the owner, once per
call), by hand, complete/cancel, and reminders emailed once to the assignee."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from core.api.errors import ApiError
from crm.models import Call, ContactEvent, FollowUp
from crm.services import followups
from crm.tasks_leads import send_follow_up_reminders, sweep_follow_up_rules
from tests.factories import CallFactory, ContactFactory, TranscriptFactory, UserFactory

pytestmark = pytest.mark.django_db
ENDED = datetime(2026, 6, 1, 15, 30, tzinfo=UTC)


@pytest.fixture
def owner():
    return UserFactory(email="owner@example.com", first_name="Rita")


@pytest.fixture
def contact(owner):
    return ContactFactory(owner=owner, first_name="Ana", last_name="Costa",
                          phone="+351912345678", email="ana@example.com")


def ended_call(contact, **kwargs):
    return CallFactory(workspace=contact.workspace, contact=contact, ended_at=ENDED, **kwargs)


def test_a_call_back_outcome_makes_a_follow_up_a_day_later_for_the_owner(contact, owner):
    made = followups.from_call(ended_call(contact, outcome="call_back"))
    assert (made.due_at, made.channel, made.assignee, made.rule, made.status) == (
        ENDED + timedelta(days=1), FollowUp.Channel.CALL, owner, "call_back",
        FollowUp.Status.OPEN)
    assert ContactEvent.objects.filter(contact=contact, kind="follow_up.created").count() == 1


def test_the_time_the_transcript_asked_for_is_the_due_time(contact):
    call = ended_call(contact)
    TranscriptFactory(workspace=contact.workspace, call=call, extracted={
        "intent": "Call back", "call_back_at": "2026-06-03T10:00:00+01:00"})
    made = followups.from_call(Call.objects.get(pk=call.pk))
    assert made.due_at == datetime(2026, 6, 3, 9, 0, tzinfo=UTC)


def test_an_asked_time_before_the_call_ended_falls_back_to_a_day_later(contact):
    call = ended_call(contact)
    TranscriptFactory(workspace=contact.workspace, call=call,
                      extracted={"intent": "call_back", "callback_at": "2020-01-01T10:00:00"})
    assert followups.from_call(Call.objects.get(pk=call.pk)).due_at == ENDED + timedelta(days=1)


def test_the_rule_runs_once_per_call_and_only_for_call_backs(contact):
    call = ended_call(contact, outcome="call_back")
    first = followups.from_call(call)
    assert followups.from_call(call) == first
    assert followups.from_call(ended_call(contact, outcome="interested")) is None
    assert followups.from_call(ended_call(contact, outcome="call_back",
                                          status=Call.Status.NO_ANSWER)) is None
    assert FollowUp.objects.count() == 1


def test_the_sweep_finds_transcripts_that_came_after_the_call(contact):
    call = CallFactory(workspace=contact.workspace, contact=contact)   # ended just now
    TranscriptFactory(workspace=contact.workspace, call=call, extracted={"intent": "callback"})
    assert sweep_follow_up_rules() == 1
    assert sweep_follow_up_rules() == 0
    assert FollowUp.objects.get().call == call


def test_by_hand_then_complete_and_cancel(contact, owner):
    due = ENDED + timedelta(days=2)
    made = followups.create(contact, due_at=due, channel="email", assignee=owner,
                            note="Send the proposal")
    assert made.rule == ""
    done = followups.complete(made, note="Sent", by=owner)
    assert done.status == FollowUp.Status.DONE and done.completed_at is not None
    assert done.note == "Send the proposal\nSent"
    with pytest.raises(ApiError) as refused:
        followups.cancel(done)
    assert refused.value.status_code == 409
    other = followups.cancel(followups.create(contact, due_at=due))
    assert other.status == FollowUp.Status.CANCELLED and other.completed_at is None
    kinds = set(ContactEvent.objects.filter(contact=contact).values_list("kind", flat=True))
    assert {"follow_up.created", "follow_up.completed", "follow_up.cancelled"} <= kinds


def test_bad_channel_or_naive_time_is_a_400(contact):
    for kwargs in ({"due_at": ENDED, "channel": "fax"},
                   {"due_at": datetime(2026, 6, 1, 10, 0)}):
        with pytest.raises(ApiError) as refused:
            followups.create(contact, **kwargs)
        assert refused.value.status_code == 400
    assert not FollowUp.objects.exists()


def test_reminders_go_once_to_the_assignee_with_what_to_do(contact, owner):
    now = datetime.now(UTC)
    soon = followups.create(contact, due_at=now + timedelta(minutes=40), assignee=owner,
                            note="Ask about the second site")
    followups.create(contact, due_at=now + timedelta(hours=3), assignee=owner)   # not yet
    followups.create(contact, due_at=now + timedelta(minutes=5))                  # nobody
    done = followups.create(contact, due_at=now, assignee=owner)
    followups.complete(done)
    assert send_follow_up_reminders() == 1
    assert send_follow_up_reminders() == 0
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["owner@example.com"]
    assert message.subject == "Follow-up due: Ana Costa (call)"
    assert "+351912345678" in message.body and "Ask about the second site" in message.body
    soon.refresh_from_db()
    assert soon.reminded_at is not None
    assert ContactEvent.objects.filter(contact=contact, kind="follow_up.reminded").count() == 1
