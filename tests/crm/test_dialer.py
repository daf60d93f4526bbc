"""The dialer over a day of a billing test clock: contacts in three time zones are only
called in their own calling hours, never when do-not-call, never more than the
campaign's concurrency or rate, retries spaced and stopped at max_attempts, and the
campaign pauses with its reason when the credits run out."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from billing.services import credits
from crm.models import Call, Campaign, CampaignContact
from crm.services import campaigns

from .campaign_support import (
    MONDAY,
    add_contact,
    end_call,
    end_calls,
    make_campaign,
    open_calls,
    set_clock,
    states,
    tick,
)
from .voice_server import crm_events_fixture, server_fixture  # noqa: F401

pytestmark = pytest.mark.django_db
St = CampaignContact.State


@pytest.fixture(autouse=True)
def subscribed(crm_events):
    campaigns.register()  # CrmConfig.ready() does it once wired


def started(campaign):
    return campaigns.campaign_start(campaign)


def test_a_day_across_three_time_zones_calls_each_contact_only_in_its_own_hours(server):
    campaign = started(make_campaign(contacts_per_zone=2, concurrency=3, rate_per_minute=10))
    banned = add_contact(campaign, time_zone="Europe/Lisbon", do_not_call=False)
    campaigns.enroll(campaign)
    banned.do_not_call = True  # after enrolment: re-checked at dial time
    banned.save()
    seen_in_progress = []
    at = MONDAY
    while at < MONDAY + timedelta(days=2):
        set_clock(campaign.workspace, at)
        result = tick(campaign)
        seen_in_progress.append(open_calls(campaign).count())
        for call in Call.objects.filter(pk__in=result.placed).select_related("contact"):
            local = call.started_at.astimezone(ZoneInfo(call.contact.time_zone))
            assert local.weekday() < 5 and 9 <= local.hour < 18, (call.contact.time_zone, local)
        end_calls(campaign)
        at += timedelta(minutes=30)
    assert max(seen_in_progress) <= 3
    assert not Call.objects.filter(contact=banned).exists()
    assert states(campaign) == {St.COMPLETED: 6, St.SKIPPED: 1}
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    zones = set(Call.objects.filter(campaign=campaign).values_list("contact__time_zone",
                                                                   flat=True))
    assert zones == {"America/Sao_Paulo", "Europe/Lisbon", "Asia/Tokyo"}


def test_nobody_is_called_outside_hours_or_at_the_weekend(server):
    # Saturday noon UTC: calling time of day everywhere... but a weekend.
    saturday = MONDAY - timedelta(days=2) + timedelta(hours=12)
    campaign = started(make_campaign(at=saturday))
    assert tick(campaign).placed == []
    # Monday 03:00 UTC: Tokyo is at noon, Lisbon and São Paulo are asleep.
    set_clock(campaign.workspace, MONDAY + timedelta(hours=3))
    result = tick(campaign)
    called = set(Call.objects.filter(pk__in=result.placed)
                 .values_list("contact__time_zone", flat=True))
    assert called == {"Asia/Tokyo"} and server.placed


def test_concurrency_is_never_exceeded_and_frees_as_calls_end(server):
    campaign = started(make_campaign(zones=["Europe/Lisbon"], contacts_per_zone=5,
                                     concurrency=2, rate_per_minute=100,
                                     at=MONDAY + timedelta(hours=10)))
    assert len(tick(campaign).placed) == 2
    assert tick(campaign).placed == []
    end_call(open_calls(campaign).first())
    assert len(tick(campaign).placed) == 1
    assert open_calls(campaign).count() == 2
    assert states(campaign)[St.CALLING] == 2


def test_the_rate_per_minute_is_honoured(server):
    campaign = started(make_campaign(zones=["Europe/Lisbon"], contacts_per_zone=7,
                                     concurrency=50, rate_per_minute=3,
                                     at=MONDAY + timedelta(hours=10)))
    assert len(tick(campaign).placed) == 3
    end_calls(campaign)
    assert tick(campaign).placed == []  # same minute
    set_clock(campaign.workspace, MONDAY + timedelta(hours=10, seconds=30))
    assert tick(campaign).placed == []
    set_clock(campaign.workspace, MONDAY + timedelta(hours=10, seconds=61))
    assert len(tick(campaign).placed) == 3


def test_retries_are_spaced_and_stop_at_max_attempts(server):
    ten = MONDAY + timedelta(hours=10)
    campaign = started(make_campaign(zones=["Europe/Lisbon"], contacts_per_zone=1,
                                     max_attempts=2, retry_spacing_minutes=60, at=ten))
    assert len(tick(campaign).placed) == 1
    end_calls(campaign, "no_answer")
    entry = CampaignContact.objects.get(campaign=campaign)
    assert (entry.state, entry.attempts, entry.last_outcome) == (St.RETRY, 1, "no_answer")
    assert entry.next_attempt_at == ten + timedelta(minutes=60)
    set_clock(campaign.workspace, ten + timedelta(minutes=59))
    assert tick(campaign).placed == []
    set_clock(campaign.workspace, ten + timedelta(minutes=60))
    assert len(tick(campaign).placed) == 1
    end_calls(campaign, "busy")
    entry.refresh_from_db()
    assert (entry.state, entry.attempts) == (St.EXHAUSTED, 2)
    set_clock(campaign.workspace, ten + timedelta(hours=5))
    assert tick(campaign).placed == []
    assert Call.objects.filter(campaign=campaign).count() == 2
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED


def test_running_out_of_credits_pauses_the_campaign_with_its_reason(server):
    campaign = started(make_campaign(zones=["Europe/Lisbon"], contacts_per_zone=5,
                                     concurrency=5, credits_amount=25,
                                     at=MONDAY + timedelta(hours=10)))
    result = tick(campaign)
    assert len(result.placed) == 2 and result.refused == {"insufficient_credits": 1}
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    assert "Not enough credits" in campaign.settings["paused_reason"]
    assert campaign.settings["paused_code"] == "insufficient_credits"
    assert states(campaign) == {St.CALLING: 2, St.PENDING: 3}
    assert set(CampaignContact.objects.filter(state=St.PENDING)
               .values_list("attempts", flat=True)) == {0}
    assert tick(campaign).placed == []  # paused: nothing more
    assert len(server.placed) == 2
    # Credits come back; resuming goes on where it stopped.
    end_calls(campaign)
    credits.grant(campaign.workspace_id, 100, reason="top-up")
    campaigns.campaign_resume(campaign)
    assert len(tick(campaign).placed) == 3


def test_a_contact_on_another_call_is_not_called_again(server):
    campaign = started(make_campaign(zones=["Europe/Lisbon"], contacts_per_zone=1,
                                     at=MONDAY + timedelta(hours=10)))
    contact = CampaignContact.objects.get(campaign=campaign).contact
    from crm.services import calls

    calls.place_call(workspace=campaign.workspace, agent=campaign.agent, contact=contact)
    assert tick(campaign).placed == []
    assert Call.objects.filter(contact=contact).count() == 1
    assert states(campaign) == {St.PENDING: 1}


def test_a_provider_failure_is_a_failed_attempt_to_retry(server):
    campaign = started(make_campaign(zones=["Europe/Lisbon"], contacts_per_zone=1,
                                     retry_spacing_minutes=30,
                                     at=MONDAY + timedelta(hours=10)))
    server.fail(400, times=1, message="bad request")
    result = tick(campaign)
    assert result.placed == [] and result.refused == {"voice_provider_error": 1}
    entry = CampaignContact.objects.get(campaign=campaign)
    assert (entry.state, entry.attempts, entry.last_outcome) == (St.RETRY, 1, "failed")


def test_a_scheduled_campaign_starts_dialling_when_its_start_comes_and_ends_at_its_end(server):
    ten = MONDAY + timedelta(hours=10)
    campaign = make_campaign(zones=["Europe/Lisbon"], contacts_per_zone=3, concurrency=1,
                             starts_at=ten + timedelta(hours=1), ends_at=ten + timedelta(hours=2),
                             at=ten)
    campaign = started(campaign)
    assert campaign.status == Campaign.Status.SCHEDULED
    assert tick(campaign).placed == []
    set_clock(campaign.workspace, ten + timedelta(hours=1))
    result = tick(campaign)
    assert result.status == Campaign.Status.RUNNING and len(result.placed) == 1
    end_calls(campaign)
    set_clock(campaign.workspace, ten + timedelta(hours=2))
    assert tick(campaign).placed == []
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    assert states(campaign) == {St.COMPLETED: 1, St.PENDING: 2}


def test_a_claim_whose_call_never_came_is_put_back_later(server):
    ten = MONDAY + timedelta(hours=10)
    campaign = started(make_campaign(zones=["Europe/Lisbon"], contacts_per_zone=1,
                                     concurrency=1, at=ten))
    # A worker died between the claim's commit and the placement.
    CampaignContact.objects.filter(campaign=campaign).update(
        state=St.CALLING, attempts=1, last_attempt_at=ten)
    assert tick(campaign).placed == []  # the claim still counts against concurrency
    set_clock(campaign.workspace, ten + timedelta(minutes=11))
    assert len(tick(campaign).placed) == 1
    entry = CampaignContact.objects.get(campaign=campaign)
    assert (entry.state, entry.attempts) == (St.CALLING, 1)


def test_a_call_whose_end_event_was_missed_still_moves_its_entry(server):
    ten = MONDAY + timedelta(hours=10)
    campaign = started(make_campaign(zones=["Europe/Lisbon"], contacts_per_zone=1, at=ten))
    tick(campaign)
    from crm.services import calls

    calls.apply_event(open_calls(campaign).get(), "completed",  # its event is not handled
                      data={"duration_seconds": 20})
    assert states(campaign) == {St.CALLING: 1}
    set_clock(campaign.workspace, ten + timedelta(minutes=11))
    tick(campaign)
    assert states(campaign) == {St.COMPLETED: 1}
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED


def test_open_calls_of_the_campaign_count_against_concurrency(server):
    campaign = started(make_campaign(zones=["Europe/Lisbon"], contacts_per_zone=3,
                                     concurrency=1, at=MONDAY + timedelta(hours=10)))
    from crm.services import calls

    someone = CampaignContact.objects.filter(campaign=campaign).first().contact
    calls.place_call(workspace=campaign.workspace, agent=campaign.agent, contact=someone,
                     campaign=campaign)  # by hand, outside the dialer
    assert tick(campaign).placed == []
    end_calls(campaign)
    assert len(tick(campaign).placed) == 1
