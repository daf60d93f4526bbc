"""Shared set-up for the campaign and dialer tests: a workspace on a billing test clock,
a voice agent, a number in the pool, contacts in three time zones on one list, credits."""

from __future__ import annotations

from datetime import UTC, datetime

from django.test import TestCase

from billing.models import TestClock
from billing.services import credits
from crm.models import Call, CampaignContact
from crm.services import calls
from tests.factories import (
    AgentFactory,
    CampaignFactory,
    ContactFactory,
    ContactListFactory,
    ContactListMembershipFactory,
    PhoneNumberFactory,
    TestClockFactory,
    WorkspaceFactory,
)

ZONES = ("America/Sao_Paulo", "Europe/Lisbon", "Asia/Tokyo")
#: Monday 2 November 2026, midnight UTC (in the past of the real clock, as calls'
#: created_at must not be older than the test clock's "now").
MONDAY = datetime(2026, 11, 2, tzinfo=UTC)


def set_clock(workspace, at: datetime) -> None:
    TestClock.objects.filter(workspace=workspace).update(frozen_time=at)


def make_campaign(*, contacts_per_zone: int = 2, zones=ZONES, credits_amount=10_000,
                  at: datetime = MONDAY, **fields):
    """A draft campaign over a list of contacts spread over ``zones``."""
    workspace = WorkspaceFactory()
    TestClockFactory(workspace=workspace, frozen_time=at)
    if credits_amount:
        credits.grant(workspace.pk, credits_amount, reason="test credits")
    agent = AgentFactory(workspace=workspace, kind="voice", voice_provider_agent_id="agent-1")
    number = PhoneNumberFactory(workspace=workspace)
    contact_list = ContactListFactory(workspace=workspace)
    fields.setdefault("credits_per_call", 10)
    campaign = CampaignFactory(workspace=workspace, agent=agent, **fields)
    campaign.phone_numbers.add(number)
    campaign.contact_lists.add(contact_list)
    for zone in zones:
        for _ in range(contacts_per_zone):
            add_contact(campaign, time_zone=zone)
    return campaign


def add_contact(campaign, **fields):
    contact = ContactFactory(workspace=campaign.workspace, **fields)
    ContactListMembershipFactory(workspace=campaign.workspace,
                                 contact_list=campaign.contact_lists.first(), contact=contact)
    return contact


def open_calls(campaign):
    return Call.objects.filter(campaign=campaign).exclude(status__in=Call.FINAL)


def committed():
    """Run what waits for the commit (core.events handlers) at the block's end, as a real
    commit would inside the test's transaction."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def tick(campaign, **kwargs):
    from crm import dialer

    with committed():
        return dialer.dial(campaign.pk, **kwargs)


def end_call(call, status: str = "completed", duration: int = 30) -> None:
    with committed():
        calls.apply_event(call, status, data={"duration_seconds": duration})


def end_calls(campaign, status: str = "completed", duration: int = 30) -> int:
    ended = 0
    for call in open_calls(campaign):
        end_call(call, status, duration)
        ended += 1
    return ended


def states(campaign) -> dict[str, int]:
    found: dict[str, int] = {}
    for state in CampaignContact.objects.filter(campaign=campaign).values_list("state",
                                                                              flat=True):
        found[state] = found.get(state, 0) + 1
    return found
