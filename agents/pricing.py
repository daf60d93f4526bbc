"""Prices of calls: the dated ModelPrice in effect at a call's time, and the cost maths."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from .models import LLMModel, ModelPrice
from .providers.base import Usage

MILLION = Decimal(1_000_000)
COST_QUANTUM = Decimal("0.00000001")


def price_at(model: LLMModel, at: datetime) -> ModelPrice | None:
    """The price with the latest ``effective_from`` not after ``at`` (None: no price yet)."""
    # Raw SQL: looked up on every call, and the ORM's compiling costs more than the query.
    table = ModelPrice._meta.db_table
    rows = list(ModelPrice.objects.raw(
        f"SELECT * FROM {table} WHERE model_id = %s AND effective_from <= %s "
        "ORDER BY effective_from DESC, id DESC LIMIT 1", [model.pk, at]))
    return rows[0] if rows else None


def cost_of(price: ModelPrice | None, usage: Usage) -> Decimal:
    """Uncached input, cached input and output tokens at their prices per million, to 8
    decimal places (half up).  No price: zero (the call is still logged with its tokens)."""
    if price is None:
        return Decimal(0).quantize(COST_QUANTUM)
    cached = min(max(usage.cached_tokens, 0), max(usage.tokens_in, 0))
    fresh = max(usage.tokens_in, 0) - cached
    total = (Decimal(fresh) * price.input_per_million
             + Decimal(cached) * price.cached_input_per_million
             + Decimal(max(usage.tokens_out, 0)) * price.output_per_million) / MILLION
    return total.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)
