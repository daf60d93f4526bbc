"""The campaign admin: start/pause/dial-now actions through the services, and the live
progress page."""

from datetime import timedelta

import pytest
from django.urls import reverse

from crm.models import Call, Campaign

from .campaign_support import MONDAY, make_campaign
from .voice_server import crm_events_fixture, server_fixture  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.crm.campaigns_admin_urls")]


def _act(client, action, campaign):
    return client.post(reverse("admin:crm_campaign_changelist"),
                       {"action": action, "_selected_action": [campaign.pk]},
                       format="multipart", follow=True)


def test_start_dial_now_and_pause_from_the_list(server, staff_client):
    campaign = make_campaign(zones=["Europe/Lisbon"], contacts_per_zone=3, concurrency=2,
                             at=MONDAY + timedelta(hours=10))
    page = _act(staff_client, "start_campaigns", campaign)
    assert "Started" in page.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
    page = _act(staff_client, "dial_now", campaign)
    assert "2 call(s) placed" in page.content.decode()
    assert Call.objects.filter(campaign=campaign).count() == 2
    _act(staff_client, "pause_campaigns", campaign)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    page = _act(staff_client, "pause_campaigns", campaign)  # twice: refused, said so
    assert "only a running or scheduled campaign" in page.content.decode()


def test_the_progress_page_shows_live_counts(server, staff_client):
    campaign = make_campaign(zones=["Europe/Lisbon"], contacts_per_zone=3, concurrency=2,
                             at=MONDAY + timedelta(hours=10))
    _act(staff_client, "start_campaigns", campaign)
    _act(staff_client, "dial_now", campaign)
    page = staff_client.get(reverse("admin:crm_campaign_progress", args=[campaign.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert '<span id="in-progress">2</span>' in text
    assert '<span id="last-minute">2</span>' in text
    assert "<td>Pending</td><td>1</td>" in text
    change = staff_client.get(reverse("admin:crm_campaign_change", args=[campaign.pk]))
    assert "Live progress" in change.content.decode()
    assert staff_client.get(reverse("admin:crm_campaign_progress",
                                    args=[999999])).status_code == 404
