"""Campaign actions through the API: members run them, viewers get 403, another tenant
404; wrong states 409; one dialer tick and the live progress."""

from datetime import timedelta

import pytest
from django.urls import NoReverseMatch, reverse

from crm.models import Campaign
from crm.services import campaigns
from tests.contract.isolation import make_tenant, session_client
from tests.factories import MembershipFactory

from .campaign_support import MONDAY, make_campaign
from .voice_server import crm_events_fixture, server_fixture  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def campaign_urls(settings):
    try:
        reverse("crm-campaign-start", args=[1])
    except NoReverseMatch:
        settings.ROOT_URLCONF = "tests.crm.campaigns_urls"


@pytest.fixture
def setup():
    campaign = make_campaign(zones=["Europe/Lisbon"], contacts_per_zone=3, concurrency=2,
                             at=MONDAY + timedelta(hours=10))
    return campaign, make_tenant()  # the other tenant


def _member_client(campaign, role):
    membership = MembershipFactory(workspace=campaign.workspace, role=role)
    return session_client(membership.user)


def url(name, campaign):
    return reverse(f"crm-campaign-{name}", args=[campaign.pk])


def test_a_member_starts_pauses_resumes_and_cancels(setup):
    campaign, _ = setup
    client = _member_client(campaign, "member")
    response = client.post(url("start", campaign))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "running"
    assert client.post(url("start", campaign)).json()["code"] == "invalid_state"
    assert client.post(url("pause", campaign)).json()["status"] == "paused"
    assert client.post(url("resume", campaign)).json()["status"] == "running"
    assert client.post(url("cancel", campaign)).json()["status"] == "cancelled"
    assert client.post(url("resume", campaign)).status_code == 409


def test_viewers_get_403_and_other_tenants_404(setup):
    campaign, stranger = setup
    viewer = _member_client(campaign, "viewer")
    for name in ("start", "dial"):
        response = viewer.post(url(name, campaign))
        assert response.status_code == 403, response.content
    assert viewer.get(url("progress", campaign)).status_code == 200
    outsider = stranger.clients["owner"]
    for name in ("start", "pause", "dial"):
        assert outsider.post(url(name, campaign)).status_code == 404
    assert outsider.get(url("progress", campaign)).status_code == 404
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT


def test_a_campaign_that_is_not_ready_is_a_400_naming_the_field(setup):
    campaign, _ = setup
    campaign.phone_numbers.clear()
    response = _member_client(campaign, "member").post(url("start", campaign))
    assert response.status_code == 400
    assert "phone_numbers" in response.json()["errors"]


def test_dial_now_and_progress(server, setup):
    campaign, _ = setup
    campaigns.campaign_start(campaign)
    client = _member_client(campaign, "member")
    response = client.post(url("dial", campaign))
    assert response.status_code == 200, response.content
    assert len(response.json()["placed"]) == 2
    progress = client.get(url("progress", campaign)).json()
    assert progress["contacts"]["calling"] == 2 and progress["contacts"]["pending"] == 1
    assert progress["calls_in_progress"] == 2 and progress["placed_last_minute"] == 2
    assert float(progress["credits_held"]) == 20  # 2 calls x 10 reserved
