"""The beat task fans out one tick per live campaign, leaving test-clock workspaces to
their own clock; one tick through the task dials like the dialer."""

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from billing.models import TestClock
from crm import tasks_campaigns
from crm.models import Campaign
from crm.services import campaigns
from tests.factories import CampaignFactory

from .campaign_support import MONDAY, make_campaign
from .voice_server import crm_events_fixture, server_fixture  # noqa: F401

pytestmark = pytest.mark.django_db
S = Campaign.Status


def test_beat_queues_running_and_due_campaigns_but_not_test_clock_ones():
    running = CampaignFactory(status=S.RUNNING)
    due = CampaignFactory(status=S.SCHEDULED, starts_at=timezone.now() - timedelta(minutes=1))
    CampaignFactory(status=S.SCHEDULED, starts_at=timezone.now() + timedelta(hours=1))
    CampaignFactory(status=S.PAUSED)
    CampaignFactory(status=S.DRAFT)
    on_clock = make_campaign()
    campaigns.campaign_start(on_clock)
    with mock.patch.object(tasks_campaigns.dial_campaign, "delay") as delay:
        assert tasks_campaigns.dial_campaigns() == 2
    assert sorted(c.args[0] for c in delay.call_args_list) == sorted([running.pk, due.pk])
    TestClock.objects.all().delete()
    assert on_clock.pk in tasks_campaigns.live_campaign_ids()


def test_one_tick_through_the_task_places_calls(server):
    campaign = make_campaign(zones=["Europe/Lisbon"], contacts_per_zone=2,
                             at=MONDAY + timedelta(hours=10))
    campaigns.campaign_start(campaign)
    outcome = tasks_campaigns.dial_campaign.apply(args=[campaign.pk]).get()
    assert len(outcome["placed"]) == 2 and outcome["status"] == "running"
