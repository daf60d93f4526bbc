"""Prices are dated: every call costs its tokens at the price in effect when it started."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from agents import pricing, providers
from agents.models import LLMUsageLog
from agents.providers.base import ChatMessage, ProviderError, Usage
from agents.services import usage
from tests.factories.agents import ModelPriceFactory

pytestmark = pytest.mark.django_db


def _price(**values):
    return ModelPriceFactory.build(**{"input_per_million": Decimal(1),
                                      "output_per_million": Decimal(2),
                                      "cached_input_per_million": Decimal("0.5"), **values})


def test_cost_counts_cached_input_at_its_own_price():
    cost = pricing.cost_of(_price(), Usage(tokens_in=1000, tokens_out=500, cached_tokens=400))
    # 600 fresh * $1 + 400 cached * $0.50 + 500 out * $2, per million
    assert cost == Decimal("0.00180000")


def test_cost_rounds_half_up_to_eight_places():
    price = _price(input_per_million=Decimal("0.005"), output_per_million=Decimal(0))
    assert pricing.cost_of(price, Usage(tokens_in=1)) == Decimal("0.00000001")  # 5e-9
    price = _price(input_per_million=Decimal("0.004"), output_per_million=Decimal(0))
    assert pricing.cost_of(price, Usage(tokens_in=1)) == Decimal("0E-8")


def test_no_price_costs_nothing():
    assert pricing.cost_of(None, Usage(tokens_in=10, tokens_out=10)) == 0


def test_price_at_picks_the_latest_effective_price(llm_model):
    now = timezone.now()
    old = llm_model.prices.get()  # from 30 days ago (the fixture)
    new = ModelPriceFactory(workspace=llm_model.workspace, model=llm_model,
                            effective_from=now - timedelta(days=1),
                            input_per_million=Decimal(3))
    assert pricing.price_at(llm_model, now - timedelta(days=40)) is None
    assert pricing.price_at(llm_model, now - timedelta(days=2)) == old
    assert pricing.price_at(llm_model, now - timedelta(days=1)) == new
    assert pricing.price_at(llm_model, now) == new


def test_price_change_mid_way_each_call_keeps_the_price_of_its_time(any_llm_model,
                                                                   llm_server):
    """Two calls through the fake server with the price changed in between."""
    llm_server.script([{"text": "first", "usage": {"input": 1000, "output": 200, "cached": 0}},
                       {"text": "second", "usage": {"input": 1000, "output": 200,
                                                    "cached": 500}}])
    message = [ChatMessage("user", "hi")]
    first_start = timezone.now()
    first = providers.chat(any_llm_model, message)
    first_row = usage.record_call(workspace_id=any_llm_model.workspace_id,
                                  model=any_llm_model, source=LLMUsageLog.Source.CHAT,
                                  started_at=first_start, result=first)
    new_price = ModelPriceFactory(workspace=any_llm_model.workspace, model=any_llm_model,
                                  effective_from=timezone.now(),
                                  input_per_million=Decimal(10),
                                  output_per_million=Decimal(20),
                                  cached_input_per_million=Decimal(1), currency="EUR")
    second_start = timezone.now()
    second = providers.chat(any_llm_model, message)
    second_row = usage.record_call(workspace_id=any_llm_model.workspace_id,
                                   model=any_llm_model, source=LLMUsageLog.Source.CHAT,
                                   started_at=second_start, result=second)
    # Old price: 1000 * $1 + 200 * $2 per million.
    assert first_row.cost == Decimal("0.00140000") and first_row.currency == "USD"
    assert first_row.price != new_price and first_row.created_at == first_start
    # New price: 500 fresh * 10 + 500 cached * 1 + 200 * 20 per million.
    assert second_row.cost == Decimal("0.00950000") and second_row.currency == "EUR"
    assert second_row.price == new_price
    assert (second_row.tokens_in, second_row.tokens_out, second_row.cached_tokens) == (
        1000, 200, 500)
    # Reading them back later does not reprice them.
    first_row.refresh_from_db()
    assert first_row.cost == Decimal("0.00140000")


def test_record_call_logs_the_call(llm_model, llm_server):
    llm_server.script([{"text": "ok", "usage": {"input": 50, "output": 5}}])
    started = timezone.now()
    result = providers.chat(llm_model, [ChatMessage("user", "hi")])
    row = usage.record_call(workspace_id=llm_model.workspace_id, model=llm_model,
                            source=LLMUsageLog.Source.PLAYGROUND, started_at=started,
                            result=result, latency_ms=12, node_key="n1")
    assert (row.status, row.model_name, row.provider_id, row.latency_ms, row.node_key) == (
        "ok", llm_model.name, llm_model.provider_id, 12, "n1")
    assert (row.tokens_in, row.tokens_out) == (50, 5)
    assert row.request_id == result.request_id
    assert row.cost == Decimal("0.00006000")


def test_record_call_logs_failures_without_cost(llm_model):
    error = ProviderError("Provider failed (500): boom", code="server_error", status=500)
    row = usage.record_call(workspace_id=llm_model.workspace_id, model=llm_model,
                            source=LLMUsageLog.Source.CHAT, started_at=timezone.now(),
                            error=error, latency_ms=30)
    assert (row.status, row.tokens_in, row.tokens_out, row.cost) == ("error", 0, 0, 0)
    assert row.error == "[server_error] Provider failed (500): boom"


def test_record_call_needs_a_result_or_an_error(llm_model):
    with pytest.raises(ValueError):
        usage.record_call(workspace_id=llm_model.workspace_id, model=llm_model,
                          source=LLMUsageLog.Source.CHAT, started_at=timezone.now())
