"""CRM dialer decisions on PostgreSQL: a 100,000-contact campaign.

``BENCH_CRM_DIALER_CONTACTS`` (default 100,000) contacts on one list, spread over six
time zones (São Paulo, New York, Lisbon, Berlin, Tokyo, Sydney), 1% do-not-call.
Timed: enrolment of the whole list (``crm.services.campaigns.enroll``), then dialer
ticks (``crm.dialer.dial``) at a fixed "now" when half of the zones are in their calling
hours: each tick locks the campaign, counts calls in progress and the last minute,
skips do-not-call contacts, selects the due contacts in their hours and claims them
(state writes), then "places" them.  ``place_call`` is replaced by a recorder (no
credits, no provider: what is measured is the dialer's own selection and writes); after
each tick the claimed entries are completed, as ended calls would, so the next tick
selects among those left.

Figures (decisions/s = contacts claimed per second of tick, median tick time) are
printed, never asserted.  A new workspace per run.

Alone: ``python -m benchmarks.crm_dialer`` (DATABASE_URL as for ``make bench``).
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

CONTACTS = int(os.environ.get("BENCH_CRM_DIALER_CONTACTS") or 100_000)
TICKS = int(os.environ.get("BENCH_CRM_DIALER_TICKS") or 20)
PER_TICK = 500  # concurrency and rate: a large call centre's minute
ZONES = ("America/Sao_Paulo", "America/New_York", "Europe/Lisbon", "Europe/Berlin",
         "Asia/Tokyo", "Australia/Sydney")
#: Tuesday 3 November 2026, 14:00 UTC: São Paulo, New York, Lisbon and Berlin are in
#: their hours (9-18 local); Tokyo and Sydney are not.
NOW = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)


class _Recorder:
    """Stands for ``crm.services.calls.place_call``: records, places nothing."""

    def __init__(self):
        self.placed = 0

    def __call__(self, *, workspace, agent, contact, campaign=None, **kwargs):
        self.placed += 1
        return SimpleNamespace(pk=self.placed)


def _prepare():
    from agents.models import Agent
    from crm.models import (
        Campaign,
        Contact,
        ContactList,
        ContactListMembership,
        PhoneNumber,
    )
    from workspaces.models import Workspace

    run_id = uuid.uuid4().hex[:10]
    workspace = Workspace.objects.create(name=f"Benchmark CRM dialer {run_id}",
                                         slug=f"bench-crm-dialer-{run_id}")
    agent = Agent.objects.create(workspace=workspace, name="Dialer bench", kind="voice",
                                 voice_provider_agent_id="bench-agent")
    number = PhoneNumber.objects.create(  # numbers are unique across workspaces
        workspace=workspace, number=f"+1415{int(run_id, 16) % 10**7:07d}",
        capabilities=["voice"])
    contact_list = ContactList.objects.create(workspace=workspace, name="Everyone")
    Contact.objects.bulk_create([Contact(
        workspace=workspace, first_name="Bench", last_name=str(n),
        phone=f"+3519{n:08d}", time_zone=ZONES[n % len(ZONES)], do_not_call=n % 100 == 7)
        for n in range(CONTACTS)], batch_size=5000)
    ids = Contact.objects.filter(workspace=workspace).values_list("pk", flat=True)
    ContactListMembership.objects.bulk_create([ContactListMembership(
        workspace=workspace, contact_list=contact_list, contact_id=pk)
        for pk in ids.iterator(chunk_size=5000)], batch_size=5000)
    campaign = Campaign.objects.create(workspace=workspace, name="Bench", agent=agent,
                                       status=Campaign.Status.RUNNING, concurrency=PER_TICK,
                                       rate_per_minute=PER_TICK, max_attempts=3)
    campaign.phone_numbers.add(number)
    campaign.contact_lists.add(contact_list)
    return campaign


def run() -> list:
    from datetime import timedelta

    from django.db import connection

    from crm import dialer
    from crm.models import CampaignContact
    from crm.services import campaigns

    from .timing import Result

    if connection.vendor != "postgresql":
        print("crm dialer benchmark skipped: it needs PostgreSQL", flush=True)
        return []
    campaign = _prepare()
    started = time.perf_counter()
    enrolled = campaigns.enroll(campaign)
    enroll_seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_campaigncontact; ANALYZE crm_contact")

    recorder = _Recorder()
    original = dialer.calls.place_call
    dialer.calls.place_call = recorder
    times, claimed = [], 0
    try:
        for index in range(TICKS):
            now = NOW + timedelta(minutes=index)  # a minute apart: the rate frees up
            tick_started = time.perf_counter()
            result = dialer.dial(campaign.pk, now=now)
            times.append(time.perf_counter() - tick_started)
            claimed += result.claimed
            # The calls "end": the entries leave `calling`, as their outcome would.
            CampaignContact.objects.filter(campaign=campaign, state="calling").update(
                state="completed", last_outcome="completed")
    finally:
        dialer.calls.place_call = original
    total = sum(times)
    rate = claimed / total if total else 0.0
    median_ms = statistics.median(times) * 1000 if times else 0.0
    skipped = CampaignContact.objects.filter(campaign=campaign, state="skipped").count()
    figures = (f"{enrolled:,} enrolled in {enroll_seconds:.1f} s; {TICKS} ticks claimed "
               f"{claimed:,} contacts ({rate:,.0f} decisions/s, median tick "
               f"{median_ms:.0f} ms for up to {PER_TICK}); {skipped:,} do-not-call skipped; "
               f"placed (recorded) {recorder.placed:,}")
    print(f"crm dialer: {figures}", flush=True)
    return [Result("crm: dialer decisions, 100k-contact campaign", figures, 0.0, 1.0)]


def main() -> int:
    from .__main__ import standalone

    return standalone(run, "crm dialer decisions")


if __name__ == "__main__":
    raise SystemExit(main())
