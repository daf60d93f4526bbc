"""The dialer under concurrency (PostgreSQL): ticks of one campaign at the same moment,
each in its own thread and connection, never place more calls than the campaign's
concurrency and never two at once to one contact; two campaigns over the same list,
dialled at once, never call one contact twice at once either."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection

from crm import dialer
from crm.models import Call, CampaignContact
from crm.services import campaigns
from tests.factories import CampaignFactory

from .campaign_support import MONDAY, make_campaign, open_calls
from .voice_server import crm_events_fixture, server_fixture  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
THREADS = 8


@pytest.fixture(autouse=True)
def subscribed(crm_events):
    campaigns.register()


def _at_once(work, count=THREADS):
    barrier = threading.Barrier(count, timeout=60)

    def run(index):
        try:
            barrier.wait()
            return work(index)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_ticks_at_once_never_exceed_concurrency_nor_call_a_contact_twice(server):
    campaign = make_campaign(zones=["Europe/Lisbon", "Asia/Tokyo"], contacts_per_zone=10,
                             concurrency=4, rate_per_minute=100,
                             at=MONDAY + timedelta(hours=8, minutes=30))  # both zones open
    campaigns.campaign_start(campaign)
    results = _at_once(lambda _: dialer.dial(campaign.pk))
    placed = [pk for r in results for pk in r.placed]
    assert len(placed) == 4 == open_calls(campaign).count()
    assert len(server.placed) == 4
    per_contact = Counter(Call.objects.filter(campaign=campaign)
                          .values_list("contact_id", flat=True))
    assert max(per_contact.values()) == 1
    assert CampaignContact.objects.filter(campaign=campaign, state="calling").count() == 4
    # Ticks that found the campaign locked did nothing (SKIP LOCKED), the rest found it full.
    assert all(r.locked or r.claimed == 0 for r in results if not r.placed)


def test_two_campaigns_over_one_list_dialled_at_once_call_each_contact_once(server):
    first = make_campaign(zones=["Europe/Lisbon"], contacts_per_zone=6, concurrency=10,
                          rate_per_minute=100, at=MONDAY + timedelta(hours=10))
    second = CampaignFactory(workspace=first.workspace, agent=first.agent, concurrency=10,
                             rate_per_minute=100, credits_per_call=10)
    second.phone_numbers.set(first.phone_numbers.all())
    second.contact_lists.set(first.contact_lists.all())
    for campaign in (first, second):
        campaigns.campaign_start(campaign)
    chosen = [first, second] * (THREADS // 2)
    _at_once(lambda i: dialer.dial(chosen[i].pk))
    live = Call.objects.exclude(status__in=Call.FINAL)
    per_contact = Counter(live.values_list("contact_id", flat=True))
    assert len(per_contact) == 6 and max(per_contact.values()) == 1
    # The campaign that lost a contact to the other has it back, to try later.
    assert CampaignContact.objects.filter(state="calling").count() == 6
