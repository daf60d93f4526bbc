"""Exactly once under concurrency (PostgreSQL): the same provider event delivered by
ten threads at once, and conflicting final events racing each other, leave one stored
event per id, one final state, one settlement and one failed-connection count.  Each
thread has its own connection; commits are real, so the worker's task runs (eagerly)
after each delivery commits."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from billing.services import credits
from crm.models import Call, Contact, ContactEvent, ProviderEvent
from crm.services import calls
from tests.factories import AgentFactory, ContactFactory, PhoneNumberFactory

from .voice_server import (  # noqa: F401
    crm_events_fixture,
    execution,
    server_fixture,
    sign,
    voice_urls_fixture,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
S = Call.Status
URL = "/api/v1/crm/webhooks/voice/"
THREADS = 10


def _placed(contact, agent):
    return calls.place_call(workspace=contact.workspace, agent=agent, contact=contact)


def _deliver_all(payloads):
    barrier = threading.Barrier(len(payloads), timeout=60)

    def deliver(payload):
        body = json.dumps(payload).encode()
        try:
            barrier.wait()
            return APIClient().generic("POST", URL, body, content_type="application/json",
                                       HTTP_X_BOLNA_SIGNATURE=sign(body)).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(payloads)) as pool:
        return list(pool.map(deliver, payloads))


@pytest.fixture
def setup(server, voice_urls):
    contact = ContactFactory(phone="+351912345678")
    other = ContactFactory(workspace=contact.workspace, phone="+351912345679")
    credits.grant(contact.workspace_id, 100, reason="test")
    agent = AgentFactory(workspace=contact.workspace, kind="voice",
                         voice_provider_agent_id="agent-uuid")
    PhoneNumberFactory(workspace=contact.workspace, number="+14155550100")
    return contact, other, agent


def test_the_same_completion_delivered_ten_times_at_once_settles_once(setup):
    contact, _, agent = setup
    call = _placed(contact, agent)
    ex = call.provider_execution_id
    completed = execution(ex, "completed", duration=95, updated_at="2026-11-29T10:01:45+00:00")
    stale = execution(ex, "ringing", updated_at="2026-11-29T10:00:01+00:00")
    statuses = _deliver_all([completed] * THREADS + [stale] * 3)
    assert sorted(set(statuses)) == [200, 202]
    assert statuses.count(202) == 2  # one per distinct event
    assert ProviderEvent.objects.count() == 2
    call.refresh_from_db()
    assert (call.status, call.duration_seconds, call.credits_charged) == (S.COMPLETED, 95, 20)
    assert credits.balance(contact.workspace_id) == Decimal(80)  # 2 minutes x 10
    assert ContactEvent.objects.filter(contact=contact, kind="call.completed").count() == 1


def test_conflicting_final_events_at_once_leave_one_outcome_counted_once(setup):
    contact, other, agent = setup
    call = _placed(other, agent)
    ex = call.provider_execution_id
    payloads = ([execution(ex, "busy", updated_at="2026-11-29T10:00:09+00:00")] * 5
                + [execution(ex, "no-answer", updated_at="2026-11-29T10:00:10+00:00")] * 5)
    statuses = _deliver_all(payloads)
    assert statuses.count(202) == 2
    call.refresh_from_db()
    assert call.status in (S.BUSY, S.NO_ANSWER)
    assert Contact.objects.get(pk=other.pk).not_connected == 1
    assert credits.balance(contact.workspace_id) == Decimal(100)  # the hold released once
    finals = ContactEvent.objects.filter(contact=other, kind__in=["call.busy", "call.no_answer"])
    assert finals.count() == 1
