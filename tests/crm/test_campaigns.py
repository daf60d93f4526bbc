"""Campaign states, enrolment and calling hours (crm.services.campaigns)."""

from datetime import UTC, datetime, time, timedelta

import pytest

from core.api.errors import ApiError
from crm.models import Campaign, CampaignContact, Contact
from crm.services import campaigns
from tests.factories import CallFactory, CampaignContactFactory, CampaignFactory

from .campaign_support import MONDAY, add_contact, make_campaign, states

pytestmark = pytest.mark.django_db
S = Campaign.Status
St = CampaignContact.State


def test_starting_enrolls_every_list_contact_once_and_skips_the_uncallable():
    campaign = make_campaign(contacts_per_zone=2)
    add_contact(campaign, do_not_call=True)
    add_contact(campaign, phone="", email="mail-only@example.com")
    campaigns.campaign_start(campaign)
    assert campaign.status == S.RUNNING
    assert states(campaign) == {St.PENDING: 6, St.SKIPPED: 2}
    assert set(CampaignContact.objects.filter(state=St.SKIPPED)
               .values_list("last_outcome", flat=True)) == {"do_not_call", "no_phone"}
    assert campaigns.enroll(campaign) == 0  # idempotent
    add_contact(campaign)
    assert campaigns.enroll(campaign) == 1
    assert CampaignContact.objects.filter(campaign=campaign).count() == 9


def test_a_future_start_is_scheduled():
    campaign = make_campaign(starts_at=MONDAY + timedelta(days=1))
    campaigns.campaign_start(campaign)
    assert campaign.status == S.SCHEDULED


def test_wrong_states_are_409_and_change_nothing():
    campaign = make_campaign()
    for action in (campaigns.campaign_pause, campaigns.campaign_resume):
        with pytest.raises(ApiError) as refused:
            action(campaign)
        assert (refused.value.status_code, refused.value.error_code) == (409, "invalid_state")
    campaigns.campaign_start(campaign)
    with pytest.raises(ApiError) as refused:
        campaigns.campaign_start(campaign)
    assert refused.value.status_code == 409
    campaigns.campaign_pause(campaign)
    assert campaign.status == S.PAUSED and campaign.settings["paused_reason"]
    campaigns.campaign_resume(campaign)
    assert campaign.status == S.RUNNING and "paused_reason" not in campaign.settings
    campaigns.campaign_cancel(campaign)
    with pytest.raises(ApiError):
        campaigns.campaign_resume(campaign)
    campaign.refresh_from_db()
    assert campaign.status == S.CANCELLED


def test_starting_needs_a_voice_agent_and_a_number_in_the_pool():
    campaign = make_campaign()
    campaign.agent.voice_provider_agent_id = ""
    campaign.agent.save()
    with pytest.raises(ApiError) as refused:
        campaigns.campaign_start(campaign)
    assert refused.value.status_code == 400 and "agent" in refused.value.errors
    campaign.agent.voice_provider_agent_id = "agent-1"
    campaign.agent.save()
    campaign.phone_numbers.update(is_active=False)
    with pytest.raises(ApiError) as refused:
        campaigns.campaign_start(campaign)
    assert refused.value.status_code == 400 and "phone_numbers" in refused.value.errors
    campaign.refresh_from_db()
    assert campaign.status == S.DRAFT and not CampaignContact.objects.exists()


@pytest.mark.parametrize(("zone", "at", "expected"), [
    # Lisbon moves to summer time on Sunday 29 March 2026 at 01:00 UTC.
    ("Europe/Lisbon", datetime(2026, 3, 30, 8, 30, tzinfo=UTC), True),  # 09:30 WEST
    ("Europe/Lisbon", datetime(2026, 3, 27, 8, 30, tzinfo=UTC), False),  # 08:30 WET
    ("Europe/Lisbon", datetime(2026, 3, 30, 17, 0, tzinfo=UTC), False),  # 18:00: the end
    ("America/New_York", datetime(2026, 11, 2, 14, 0, tzinfo=UTC), True),  # 09:00 EST
    ("America/New_York", datetime(2026, 10, 30, 13, 30, tzinfo=UTC), True),  # 09:30 EDT
    ("Asia/Tokyo", datetime(2026, 11, 2, 0, 0, tzinfo=UTC), True),  # Monday 09:00
    ("Asia/Tokyo", datetime(2026, 11, 6, 15, 0, tzinfo=UTC), False),  # Saturday 00:00
    ("America/Sao_Paulo", datetime(2026, 11, 2, 11, 59, tzinfo=UTC), False),  # 08:59
    ("America/Sao_Paulo", datetime(2026, 11, 2, 12, 0, tzinfo=UTC), True),  # 09:00
])
def test_calling_hours_are_the_contacts_own_wall_time(zone, at, expected):
    campaign = CampaignFactory.build(calling_hours_start=time(9), calling_hours_end=time(18))
    assert campaigns.in_calling_hours(Contact(time_zone=zone), campaign, at) is expected


def test_calling_days_are_the_contacts_local_weekdays():
    campaign = CampaignFactory.build(calling_days=[5, 6])  # weekends only
    sunday_in_tokyo = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)  # Sunday 10:00 in Tokyo
    assert campaigns.in_calling_hours(Contact(time_zone="Asia/Tokyo"), campaign,
                                      sunday_in_tokyo)
    assert not campaigns.in_calling_hours(Contact(time_zone="Asia/Tokyo"), campaign,
                                          sunday_in_tokyo + timedelta(days=1))


@pytest.mark.parametrize(("status", "attempts", "expected"), [
    ("completed", 1, St.COMPLETED), ("no_answer", 1, St.RETRY), ("busy", 2, St.RETRY),
    ("failed", 3, St.EXHAUSTED)])
def test_an_ended_call_moves_the_entry(status, attempts, expected):
    campaign = CampaignFactory(max_attempts=3, retry_spacing_minutes=15)
    entry = CampaignContactFactory(workspace=campaign.workspace, campaign=campaign,
                                   state=St.CALLING, attempts=attempts)
    call = CallFactory(workspace=campaign.workspace, contact=entry.contact, campaign=campaign,
                       status=status)
    moved = campaigns.outcome(entry, call)
    assert moved.state == expected and moved.last_outcome == status
    assert (moved.next_attempt_at is not None) == (expected == St.RETRY)
    assert campaigns.outcome(moved, call).state == expected  # once only
