"""The one door to LLM providers: chats, workflow nodes, the playground and embeddings
all call models through here, so every call is held against the quotas first and
recorded with its cost after (failed calls too).  The plan's tokens per month are checked
before the call (``billing.entitlements.require``) and the tokens metered after."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.utils import timezone

from billing import entitlements, metering

from .. import pricing, providers
from ..models import LLMModel, LLMUsageLog
from ..providers.base import ChatMessage, ChatResult, EmbeddingResult, ProviderError, Usage
from . import quotas, usage

#: Output tokens reserved when neither the call nor the model names a maximum.
DEFAULT_MAX_OUTPUT = 4096


def _worst_case(price, tokens_in: int, tokens_out: int):
    return pricing.cost_of(price, Usage(tokens_in=tokens_in, tokens_out=tokens_out))


def call_model(*, model: LLMModel, messages: list[ChatMessage], source: str,
               workspace_id: int, agent=None, conversation=None, workflow=None,
               execution=None, node_key: str = "", user=None, tools=(), temperature=None,
               max_tokens=None, response_format=None,
               on_token: Callable[[str], None] | None = None,
               ) -> tuple[ChatResult, LLMUsageLog]:
    """Reserve the worst case, call, record, settle.  Raises QuotaExhausted before any
    call, ProviderError (recorded as an error usage row) after."""
    started_at = timezone.now()
    tokens_in = providers.estimate_tokens(messages, tools)
    tokens_out = max_tokens or model.max_output_tokens or DEFAULT_MAX_OUTPUT
    # The price in effect when the call starts both sizes the reservation and prices
    # the usage row: one lookup.
    price = pricing.price_at(model, started_at)
    entitlements.require(workspace_id, "tokens_per_month", tokens_in + tokens_out)
    reservation = quotas.reserve(
        workspace_id=workspace_id, agent_id=getattr(agent, "pk", None),
        tokens=tokens_in + tokens_out, cost=_worst_case(price, tokens_in, tokens_out))
    context = {"workspace_id": workspace_id, "model": model, "source": source,
               "started_at": started_at, "price": price, "agent": agent,
               "conversation": conversation,
               "workflow": workflow, "execution": execution, "node_key": node_key,
               "user": user}
    clock = time.monotonic()
    try:
        result = providers.chat(model, messages, tools=list(tools), temperature=temperature,
                                max_tokens=max_tokens, response_format=response_format,
                                on_token=on_token)
    except ProviderError as error:
        try:
            usage.record_call(error=error, latency_ms=_ms(clock), **context)
        finally:
            quotas.release(reservation)
        raise
    except BaseException:
        quotas.release(reservation)
        raise
    try:
        row = usage.record_call(result=result, latency_ms=result.latency_ms or _ms(clock),
                                **context)
    except BaseException:
        quotas.release(reservation)
        raise
    quotas.settle(reservation, tokens=row.tokens_in + row.tokens_out, cost=row.cost)
    _meter(row)
    return result, row


def embed_texts(*, model: LLMModel, texts: list[str], workspace_id: int,
                source: str = "embedding") -> EmbeddingResult:
    """Embeddings through the same reserve → call → record → settle path."""
    started_at = timezone.now()
    tokens_in = sum(len(t) for t in texts) // 3 + 8 * len(texts)
    price = pricing.price_at(model, started_at)
    entitlements.require(workspace_id, "tokens_per_month", tokens_in)
    reservation = quotas.reserve(workspace_id=workspace_id, agent_id=None, tokens=tokens_in,
                                 cost=_worst_case(price, tokens_in, 0))
    context = {"workspace_id": workspace_id, "model": model, "source": source,
               "started_at": started_at, "price": price}
    clock = time.monotonic()
    try:
        result = providers.embed(model, texts)
    except ProviderError as error:
        try:
            usage.record_call(error=error, latency_ms=_ms(clock), **context)
        finally:
            quotas.release(reservation)
        raise
    except BaseException:
        quotas.release(reservation)
        raise
    try:
        row = usage.record_call(result=result, latency_ms=result.latency_ms or _ms(clock),
                                **context)
    except BaseException:
        quotas.release(reservation)
        raise
    quotas.settle(reservation, tokens=row.tokens_in + row.tokens_out, cost=row.cost)
    _meter(row)
    return result


def _meter(row: LLMUsageLog) -> None:
    """The call's tokens on the workspace's usage (plan limits and invoices count them)."""
    tokens = (row.tokens_in or 0) + (row.tokens_out or 0)
    if tokens:
        metering.record(workspace_id=row.workspace_id, metric="tokens", quantity=tokens,
                        transaction_id=f"llm:{row.pk}", source="agents")


def _ms(clock: float) -> int:
    return int((time.monotonic() - clock) * 1000)
