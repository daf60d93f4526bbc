"""Never two calls at once to one contact (PostgreSQL): eight placements at the same
moment, each in its own thread and connection, place one call and reserve its credits
once; the others are refused with 409 call_in_progress and leave nothing behind."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from billing.services import credits
from core.api.errors import ApiError
from crm.models import Call
from crm.services import calls
from tests.factories import AgentFactory, ContactFactory, PhoneNumberFactory

from .voice_server import crm_events_fixture, server_fixture  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
THREADS = 8


def test_eight_placements_at_once_to_one_contact_place_one_call(server):
    contact = ContactFactory(phone="+351912345678")
    credits.grant(contact.workspace_id, 100, reason="test")
    agent = AgentFactory(workspace=contact.workspace, kind="voice",
                         voice_provider_agent_id="agent-uuid")
    PhoneNumberFactory(workspace=contact.workspace, number="+14155550100")
    barrier = threading.Barrier(THREADS, timeout=60)

    def attempt(_):
        try:
            barrier.wait()
            calls.place_call(workspace=contact.workspace, agent=agent, contact=contact)
            return "placed"
        except ApiError as error:
            return error.error_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        outcomes = list(pool.map(attempt, range(THREADS)))
    assert sorted(outcomes) == ["call_in_progress"] * (THREADS - 1) + ["placed"]
    assert Call.objects.count() == 1 and len(server.placed) == 1
    assert credits.balance(contact.workspace_id) == 90
