"""Monthly demand forecast per SKU, with its error measured on held-back months.

Method
------
* **History.** Sales weight (t) per SKU and calendar month, summed in the database
  (``GROUP BY sku, month``).  A SKU's series starts at its first month with a sale
  in the selection and ends at the month of the latest sale in the whole selection;
  months in between with no sales count as 0 t.  (The last month may be partial
  when ``date_to`` falls mid-month.)
* **Seasonal naive** when the series has at least 12 months: the forecast for a
  month is the actual of the same calendar month one year earlier
  (``F[n+h] = y[n+h-12]``, repeating the last 12 months for ``h > 12``).
* **Simple exponential smoothing** (SES) with fewer than 12 months, alpha = 0.5:
  ``level[0] = y[0]``, ``level[t] = 0.5*y[t] + 0.5*level[t-1]``; every future month
  is forecast at the final level (SES has no trend or season).  0.5 weights the
  last month at one half, the one before at a quarter, and so on: responsive on
  the short, noisy series this branch sees.
* **Error.** The last ``holdout_months`` months are held back; the method is chosen
  and fitted on the months before them (so a 14-month series is checked with SES
  on 11 months), forecast over the holdout and compared with the actuals:
  MAE = mean |actual - forecast| (t); MAPE = mean |actual - forecast| / actual
  x 100 over the holdout months whose actual is not 0 (undefined when all are 0).
  No error is reported when fewer than one month would be left to fit on.

The arithmetic is pure (Decimal in, Decimal out, in ``core.forecasting``) and runs over
the small aggregated series, never over raw sales rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Max, Sum
from django.db.models.functions import TruncMonth

# The arithmetic lives in the shared kernel (cost forecasting uses it too); these
# names stay importable from here for the report queries.
from core.forecasting import (  # noqa: F401
    ALPHA,
    SEASON,
    SEASONAL_NAIVE,
    SES,
    HoldoutError,
    add_months,
    holdout_error,
    method_for,
    month_label,
    predict,
    seasonal_naive,
    ses,
)

from ..data import ReportParameters
from . import base
from .common import to_date

METHOD_NOTE = (
    "Forecast: monthly sales weight per SKU (months without sales count as 0 t); seasonal "
    "naive (same month last year) with 12 or more months of history, otherwise simple "
    "exponential smoothing with alpha 0.5. Error: the last holdout months are held back, the "
    "method is fitted on the rest and compared with them (MAE in t; MAPE over months with sales)."
)
METHOD_LABELS = {SEASONAL_NAIVE: "Seasonal naive (12 months)", SES: "Exp. smoothing (a=0.5)"}


@dataclass(frozen=True)
class SkuForecast:
    sku: str
    start: date  # first month of ``history``
    history: tuple[Decimal, ...]
    method: str
    forecast: tuple[Decimal, ...]  # the months after the series' last month
    error: HoldoutError | None

    @property
    def total(self) -> Decimal:
        return sum(self.history, Decimal(0))

    @property
    def mean_forecast(self) -> Decimal:
        return sum(self.forecast, Decimal(0)) / len(self.forecast) if self.forecast else Decimal(0)


def monthly_history(workspace_id: int, params: ReportParameters,
                    skus: Iterable[str] | None = None) -> tuple[dict[str, dict], date | None]:
    """``({sku: {month: weight}}, last month)`` aggregated in the database."""
    sales = base.sales(workspace_id, params)
    last = sales.aggregate(last=Max("sale_date"))["last"]
    if skus is not None:
        sales = sales.filter(sku__in=list(skus))
    rows = (sales.annotate(month=TruncMonth("sale_date")).values("sku", "month")
            .annotate(weight=Sum("net_weight_tonnes")).order_by("sku", "month"))
    series: dict[str, dict] = {}
    for row in rows:
        series.setdefault(row["sku"], {})[to_date(row["month"])] = row["weight"]
    return series, (add_months(last, 0) if last else None)


def forecast_skus(workspace_id: int, params: ReportParameters,
                  skus: Iterable[str] | None = None) -> tuple[list[SkuForecast], date | None]:
    """Forecast every SKU with sales in the selection; returns them and the last history month."""
    series, last = monthly_history(workspace_id, params, skus)
    result = []
    for sku, months in series.items():
        start = min(months)
        span = (last.year - start.year) * 12 + last.month - start.month + 1
        history = [Decimal(months.get(add_months(start, i)) or 0) for i in range(span)]
        method, values = predict(history, params.forecast_months)
        result.append(SkuForecast(sku, start, tuple(history), method, tuple(values),
                                  holdout_error(history, params.holdout_months)))
    result.sort(key=lambda f: (-f.total, f.sku))
    return result, last
