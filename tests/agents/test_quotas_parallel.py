"""The quota holds under concurrency: 20 chat calls at once through the API, each in its
own thread and database connection, against a quota worth 10 calls (PostgreSQL)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import include, path
from rest_framework.test import APIClient

from agents.api import chat as chat_api
from agents.models import AgentQuota, LLMUsageLog
from agents.services.chat import run_turn
from tests.agents.chat_support import chat_model, live_agent, priced
from tests.factories.agents import AgentQuotaFactory
from tests.factories.workspaces import MembershipFactory

urlpatterns = [path("api/v1/", include(chat_api.urlpatterns))]

FIXTURES = (chat_model,)  # used by name as test arguments
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True),
              pytest.mark.urls(__name__)]
CALLS = 20


def test_twenty_parallel_calls_never_record_more_than_the_quota(chat_model, llm_server):
    model = priced(chat_model)
    # One call's real cost, measured on another agent of the same model and prompt.
    probe = run_turn(agent=live_agent(model, max_tokens=16), text="Hello there",
                     principal=None)
    one_call = probe.reply.cost
    assert one_call > 0
    agent = live_agent(model, max_tokens=16)
    quota = AgentQuotaFactory(workspace=agent.workspace, agent=agent, max_tokens=None,
                              max_cost=one_call * 10)
    clients = []
    for _ in range(CALLS):
        client = APIClient()
        client.force_login(MembershipFactory(workspace=agent.workspace).user)
        clients.append(client)
    barrier = threading.Barrier(CALLS, timeout=60)

    def call(client):
        try:
            barrier.wait()
            return client.post(f"/api/v1/agents/{agent.pk}/chat/", {"message": "Hello there"},
                               format="json")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=CALLS) as pool:
        responses = list(pool.map(call, clients))

    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) == {200, 429}, statuses
    ok = [r for r in responses if r.status_code == 200]
    refused = [r.json() for r in responses if r.status_code == 429]
    assert 1 <= len(ok) <= 10 and len(refused) >= 10
    recorded = sum(LLMUsageLog.objects.filter(agent=agent).values_list("cost", flat=True),
                   Decimal(0))
    assert recorded <= quota.max_cost
    assert recorded == sum(Decimal(r.json()["usage"]["cost"]) for r in ok)
    for body in refused:
        assert body["code"] == "quota_exhausted"
        assert body["errors"]["quota"] == quota.pk and body["errors"]["resets_at"]
        assert "resets at" in body["message"]
    quota = AgentQuota.objects.get(pk=quota.pk)
    assert quota.cost_used == recorded
    assert (quota.tokens_reserved, quota.cost_reserved) == (0, 0)  # nothing left held
