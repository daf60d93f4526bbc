"""The usage log: one append-only row per provider call, priced at the call's time."""

from __future__ import annotations

from datetime import datetime

from .. import pricing
from ..models import LLMModel, LLMUsageLog
from ..providers.base import ChatResult, EmbeddingResult, ProviderError, Usage

_MAX_ERROR = 2000
_LOOK_UP = object()


def record_call(*, workspace_id: int, model: LLMModel, source: str, started_at: datetime,
                result: ChatResult | EmbeddingResult | None = None,
                error: ProviderError | None = None, latency_ms: int | None = None,
                agent=None, conversation=None, message=None, workflow=None, execution=None,
                node_key: str = "", user=None, price=_LOOK_UP) -> LLMUsageLog:
    """Log one call (``result``) or one failed call (``error``: zero tokens, status error).
    ``created_at`` is ``started_at``, so the price applied is the one in effect then
    (``price``: that price already looked up by the caller, None for none)."""
    if (result is None) == (error is None):
        raise ValueError("record_call needs exactly one of result and error.")
    usage = result.usage if result is not None else Usage(reported=False)
    if price is _LOOK_UP:
        price = pricing.price_at(model, started_at)
    row = LLMUsageLog(
        workspace_id=workspace_id, created_at=started_at, source=source,
        status=LLMUsageLog.Status.OK if error is None else LLMUsageLog.Status.ERROR,
        provider_id=model.provider_id, model=model, model_name=model.name[:120], price=price,
        agent=agent, conversation=conversation, message=message, workflow=workflow,
        execution=execution, node_key=node_key or "",
        user=user if getattr(user, "pk", None) else None,
        tokens_in=usage.tokens_in, tokens_out=usage.tokens_out,
        cached_tokens=usage.cached_tokens,
        cost=pricing.cost_of(price, usage) if error is None else pricing.cost_of(None, usage),
        currency=price.currency if price is not None else "USD",
        latency_ms=max(0, int(latency_ms if latency_ms is not None
                              else getattr(result, "latency_ms", 0) or 0)),
        request_id=(getattr(result, "request_id", "") or "")[:120],
        error=f"[{error.code}] {error.message}"[:_MAX_ERROR] if error is not None else "")
    row.save()
    return row
