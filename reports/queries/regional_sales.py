"""Regional sales: weight by state and by city, shares, and month-over-month per state.

Sums are grouped in the database; month over month uses ``LAG`` over the grouped rows.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import F, Sum, Window
from django.db.models.functions import Lag

from ..data import Chart, Column, ReportData, ReportParameters, Table
from . import base
from .common import growth, lagged, period_label, safe_key, share, tonnes, trunc_period

KIND = "regional_sales"
TITLE = "Regional sales analysis"
WEIGHT = "net_weight_tonnes"


def _by_state(qs) -> list[tuple]:
    rows = list(qs.values("state").annotate(weight=Sum(WEIGHT)).order_by("-weight", "state"))
    total = sum((r["weight"] for r in rows), Decimal(0))
    return [(r["state"], tonnes(r["weight"]), share(r["weight"], total)) for r in rows]


def _by_city(qs) -> list[tuple]:
    rows = list(qs.values("state", "city").annotate(weight=Sum(WEIGHT))
                .order_by("-weight", "state", "city"))
    total = sum((r["weight"] for r in rows), Decimal(0))
    return [(r["state"], r["city"], tonnes(r["weight"]), share(r["weight"], total))
            for r in rows]


def _state_months(qs) -> list[tuple]:
    """(state, month start, weight, previous month's weight, MoM %), by state then month."""
    window = {"partition_by": [F("state")], "order_by": F("month").asc()}
    rows = (
        qs.annotate(month=trunc_period("sale_date", "month"))
        .values("state", "month")
        .annotate(weight=Sum(WEIGHT))
        # A separate annotate(): in the same call the windows would join the GROUP BY.
        .annotate(prev_weight=Window(Lag("weight"), **window),
                  prev_month=Window(Lag("month"), **window))
        .order_by("state", "month")
    )
    out = []
    for r in rows:
        previous = lagged(r["prev_weight"], r["prev_month"], r["month"], "month")
        out.append((r["state"], r["month"], tonnes(r["weight"]),
                    None if previous is None else tonnes(previous),
                    growth(r["weight"], previous)))
    return out


def _pivot(state_months: list[tuple], states: list[str]) -> tuple[list[Column], list[tuple]]:
    """Months down, states across (tonnes, 0 when a state sold nothing that month)."""
    keys: dict[str, str] = {}
    for state in states:
        key = f"st_{safe_key(state)}"
        keys[state] = key if key not in keys.values() else f"{key}_{len(keys)}"
    columns = [Column("month", "Month")] + [Column(keys[s], s, "t") for s in states]
    columns.append(Column("total", "Total", "t"))
    grid: dict = {}
    for state, month, weight, *_ in state_months:
        grid.setdefault(month, {})[state] = weight
    rows = []
    for month in sorted(grid):
        cells = [grid[month].get(s, tonnes(0)) for s in states]
        rows.append((period_label(month, "month"), *cells, tonnes(sum(cells, Decimal(0)))))
    return columns, rows


def build(workspace_id: int, params: ReportParameters) -> ReportData:
    qs = base.sales(workspace_id, params)
    top_n = max(params.top_n, 0)
    by_state = _by_state(qs)
    by_city = _by_city(qs)
    state_months = _state_months(qs)
    states = [row[0] for row in by_state]  # heaviest first
    pivot_columns, pivot_rows = _pivot(state_months, states)
    weight, share_col = Column("weight_t", "Weight", "t"), Column("share_pct", "Share", "%")
    city_columns = [Column("state", "State"), Column("city", "City"), weight, share_col]

    tables = [
        Table("sales_by_state", "Weight by state", [Column("state", "State"), weight, share_col],
              by_state),
        Table("sales_by_city", "Weight by city", city_columns, by_city),
        Table("top_cities", f"Top {top_n} cities by weight",
              [Column("place", "City (state)"), *city_columns],
              [(f"{city} ({state})", state, city, w, s)
               for state, city, w, s in by_city[:top_n]]),
        Table("state_months", "Weight per state per month (month over month)",
              [Column("state", "State"), Column("month", "Month"), weight,
               Column("previous_t", "Previous month", "t"), Column("mom_pct", "MoM change", "%")],
              [(state, period_label(month, "month"), *rest)
               for state, month, *rest in state_months]),
        Table("state_month_pivot", "Weight per month by state", pivot_columns, pivot_rows),
    ]
    total = sum((row[1] for row in by_state), Decimal(0))
    summary = [
        ("Total weight (t)", tonnes(total)),
        ("States", len(by_state)),
        ("Cities", len(by_city)),
        ("Leading state", by_state[0][0] if by_state else None),
        ("Leading state share (%)", by_state[0][2] if by_state else None),
    ]
    charts = [
        Chart("sales_by_state_chart", "Weight by state", "sales_by_state", x="state",
              series=("weight_t",), x_label="State"),
        Chart("top_cities_chart", f"Top {top_n} cities by weight", "top_cities", x="place",
              series=("weight_t",), kind="barh", x_label="City"),
        Chart("state_monthly_chart", f"Monthly weight of the top {top_n} states",
              "state_month_pivot", x="month",
              series=tuple(c.key for c in pivot_columns[1:-1][:top_n]), kind="line",
              x_label="Month"),
    ]
    notes = [
        "Shares are of the total weight in the selection.",
        "Month over month compares with the calendar month before; it is empty when that "
        "month had no sales in the state (or lies before the start date).",
    ]
    return ReportData(KIND, TITLE, params, summary=summary, tables=tables, charts=charts,
                      notes=notes)
