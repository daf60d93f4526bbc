"""Average ratings kept on the rated row (templates, node templates, marketplace
components): recomputed from the ratings, never incremented, by the writer holding the
rated row's lock, so concurrent raters leave the exact figures."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count

CENT = Decimal("0.01")


def refresh_average(model, pk: int, ratings, *, field: str = "rating") -> None:
    """Set ``rating_average`` (2 decimals, half up) and ``rating_count`` of ``model`` row
    ``pk`` from the ``ratings`` queryset's ``field`` (the caller holds the row's lock)."""
    totals = ratings.aggregate(average=Avg(field), count=Count("id"))
    average = Decimal(str(totals["average"] or 0)).quantize(CENT, rounding=ROUND_HALF_UP)
    model.objects.filter(pk=pk).update(rating_average=average, rating_count=totals["count"])
