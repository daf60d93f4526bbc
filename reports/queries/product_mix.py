"""Product mix: sales weight by product group, product and product code, and its trend.

Shares are each line's weight as a percentage of the selection's total weight.
The trend is the weight per product group and period (``params.grouping``: month
or quarter), with the change against the period just before, taken with a
``Lag`` window in the database; a group with no sales in that period has a
previous weight of 0 t and no change % (growth from 0 is undefined).
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import F, Sum, Window
from django.db.models.functions import Lag

from ..data import Chart, Column, ReportData, ReportParameters, Table
from ..kinds import KINDS
from . import base
from .common import (
    growth,
    lagged,
    period_label,
    safe_key,
    share,
    to_date,
    tonnes,
    trunc_period,
)
from .forecast import add_months

KIND = "product_mix"
WEIGHT = Column("weight_t", "Weight (t)", "t")
SHARE = Column("share_pct", "Share of weight (%)", "%")
NOTE = ("Shares are percentages of the selection's total sales weight. The change compares each "
        "product group with the period just before; a period without sales counts as 0 t, and "
        "growth from 0 t is left blank.")


def build(workspace_id: int, params: ReportParameters) -> ReportData:
    sales = base.sales(workspace_id, params)
    total = sales.aggregate(total=Sum("net_weight_tonnes"))["total"] or Decimal(0)

    def mix(*fields: str) -> list[tuple]:
        rows = (sales.values(*fields).annotate(weight=Sum("net_weight_tonnes"))
                .order_by("-weight", *fields))
        return [(*(r[f] for f in fields), tonnes(r["weight"]), share(r["weight"], total))
                for r in rows]

    group_rows = mix("product_group")
    trend_rows, wide_columns, wide_rows = trend(sales, params, [r[0] for r in group_rows])
    unit = "Quarter" if params.grouping == "quarter" else "Month"
    tables = [
        Table("by_product_group", "Sales weight by product group",
              [Column("product_group", "Product group"), WEIGHT, SHARE], group_rows),
        Table("by_product", "Sales weight by product",
              [Column("product_group", "Product group"), Column("product", "Product"),
               WEIGHT, SHARE], mix("product_group", "product")),
        Table("by_product_code", "Sales weight by product code",
              [Column("product_code", "Product code"), WEIGHT, SHARE], mix("product_code")),
        Table("trend_by_product_group", f"Weight by product group and {unit.lower()}", [
            Column("period", unit), Column("product_group", "Product group"), WEIGHT,
            Column("previous_t", f"Previous {unit.lower()} (t)", "t"),
            Column("change_t", "Change (t)", "t"),
            Column("change_pct", f"Change vs previous {unit.lower()} (%)", "%")], trend_rows),
        Table("trend_chart", f"Weight per {unit.lower()}, product groups as columns",
              wide_columns, wide_rows),
    ]
    charts = []
    if group_rows:
        charts.append(Chart("share_by_product_group", "Share of sales weight by product group",
                            "by_product_group", "product_group", ("share_pct",), "barh",
                            "Product group", "Share of weight (%)"))
        top = tuple(c.key for c in wide_columns[1:params.top_n + 1])
        charts.append(Chart("trend_by_product_group",
                            f"Sales weight per {unit.lower()}, top product groups",
                            "trend_chart", "period", top, "line", unit, "Weight (t)"))
    summary = [("Sales weight (t)", tonnes(total)), ("Product groups", len(group_rows)),
               ("Products", len(tables[1].rows)), ("Product codes", len(tables[2].rows))]
    if group_rows:
        summary.append(("Largest group", f"{group_rows[0][0]} ({group_rows[0][2]}%)"))
    return ReportData(KIND, KINDS[KIND], params, summary, tables, charts, [NOTE])


def trend(sales, params: ReportParameters, groups: list[str]):
    """Long rows with the change per group, and a wide table (period x group) for the chart."""
    period = trunc_period("sale_date", params.grouping)
    lag = {"partition_by": [F("product_group")], "order_by": F("period").asc()}
    rows = (sales.annotate(period=period).values("product_group", "period")
            .annotate(weight=Sum("net_weight_tonnes"))
            # a separate annotate(): in the same call the windows would join the GROUP BY
            .annotate(prev_weight=Window(Lag("weight"), **lag),
                      prev_period=Window(Lag("period"), **lag))
            .order_by("period", "product_group"))
    long_rows, cells = [], {}
    for r in rows:
        start = to_date(r["period"])
        previous = lagged(r["prev_weight"], r["prev_period"], start, params.grouping)
        previous = previous or Decimal(0)
        long_rows.append((period_label(start, params.grouping), r["product_group"],
                          tonnes(r["weight"]), tonnes(previous),
                          tonnes(r["weight"] - previous), growth(r["weight"], previous)))
        cells[start, r["product_group"]] = r["weight"]

    keys = [f"g_{safe_key(g)}" for g in groups]
    keys = [k if keys.count(k) == 1 else f"{k}_{i}" for i, k in enumerate(keys, start=1)]
    unit = "Quarter" if params.grouping == "quarter" else "Month"
    columns = [Column("period", unit)] + [
        Column(k, g, "t") for k, g in zip(keys, groups, strict=True)]
    wide = []
    if cells:
        step = 3 if params.grouping == "quarter" else 1
        start, last = min(s for s, _ in cells), max(s for s, _ in cells)
        while start <= last:
            wide.append((period_label(start, params.grouping),
                         *(tonnes(cells.get((start, g))) for g in groups)))
            start = add_months(start, step)
    return long_rows, columns, wide
