"""Inventory optimisation: months of cover per SKU, flagged for overstock or reorder.

For every SKU in the latest inventory snapshot on or before ``date_to``:

* stock (t) = the SKU's stock summed over the snapshot (in the database);
* demand (t/month) = the mean of the next ``forecast_months`` months forecast by
  ``forecast.py`` from the SKU's monthly sales in the selection (0 without sales);
* months of cover = stock / demand, rounded to 2 decimals, and compared rounded:
  ``overstock`` when cover > ``overstock_months``, ``reorder`` when cover <
  ``reorder_months``, otherwise ``ok``.
* Demand 0 (or below): the cover is infinite (shown blank, "no demand"); with
  stock > 0 that is ``overstock`` (all of it is excess), with no stock ``ok``.

Excess = stock - overstock_months x demand; shortfall = reorder_months x demand - stock.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Min, Sum

from ..data import Chart, Column, ReportData, ReportParameters, Table
from ..kinds import KINDS
from . import base, forecast
from .common import tonnes

KIND = "inventory_recommendations"
MONTHS = Decimal("0.01")
OVERSTOCK, REORDER, OK = "overstock", "reorder", "ok"


def classify(stock: Decimal, demand: Decimal, params: ReportParameters):
    """``(status, months of cover or None for infinite)`` from rounded stock and demand."""
    if demand <= 0:
        return (OVERSTOCK if stock > 0 else OK), None
    cover = (stock / demand).quantize(MONTHS, rounding=ROUND_HALF_UP)
    if cover > params.overstock_months:
        return OVERSTOCK, cover
    if cover < params.reorder_months:
        return REORDER, cover
    return OK, cover


def build(workspace_id: int, params: ReportParameters) -> ReportData:
    inventory = base.inventory(workspace_id, params)
    snapshot = inventory.values_list("snapshot_date", flat=True).first()
    stock_rows = (inventory.values("sku")
                  .annotate(stock=Sum("stock_tonnes"), group=Min("product_group"))
                  .order_by("sku"))
    stock = {r["sku"]: (r["group"], tonnes(r["stock"])) for r in stock_rows}
    forecasts, _ = forecast.forecast_skus(workspace_id, params, skus=stock)
    by_sku = {f.sku: f for f in forecasts}

    rows = []  # (sku, group, stock, demand, cover, status, note, method)
    for sku, (group, stock_t) in stock.items():
        f = by_sku.get(sku)
        demand = tonnes(f.mean_forecast) if f else tonnes(0)
        status, cover = classify(stock_t, demand, params)
        note = "no demand" if cover is None else ""
        method = forecast.METHOD_LABELS[f.method] if f else "no sales"
        rows.append((sku, group, stock_t, demand, cover, status, note, method))
    rows.sort(key=lambda r: (-r[2], r[0]))

    overstock = sorted(((s, g, st, d, c, tonnes(st - params.overstock_months * d), n)
                        for s, g, st, d, c, status, n, _ in rows if status == OVERSTOCK),
                       key=lambda r: (-r[5], r[0]))
    reorder = sorted(((s, g, st, d, c, tonnes(params.reorder_months * d - st))
                      for s, g, st, d, c, status, _, _ in rows if status == REORDER),
                     key=lambda r: (-r[5], r[0]))
    base_columns = [Column("sku", "SKU"), Column("product_group", "Product group"),
                    Column("stock_t", "Stock (t)", "t"),
                    Column("demand_t", "Forecast demand (t/month)", "t"),
                    Column("cover_months", "Months of cover")]
    tables = [
        Table("overstock", f"Overstock: cover above {params.overstock_months} months",
              [*base_columns, Column("excess_t", "Excess stock (t)", "t"),
               Column("note", "Note")], overstock),
        Table("reorder", f"Reorder: cover below {params.reorder_months} months",
              [*base_columns, Column("shortfall_t", "Shortfall to reorder level (t)", "t")],
              reorder),
        Table("cover_by_sku", "Months of cover by SKU",
              [*base_columns, Column("status", "Status"), Column("note", "Note"),
               Column("method", "Forecast method")], rows),
        Table("stock_vs_demand", "Stock and monthly demand, largest stocks",
              [Column("sku", "SKU"), Column("stock_t", "Stock (t)", "t"),
               Column("demand_t", "Forecast demand (t/month)", "t")],
              [(r[0], r[2], r[3]) for r in rows[: params.top_n]]),
    ]
    charts = []
    if rows:
        charts.append(Chart("stock_vs_demand", "Stock vs forecast monthly demand, top SKUs",
                            "stock_vs_demand", "sku", ("stock_t", "demand_t"), "bar",
                            "SKU", "Weight (t)"))
    summary = [
        ("Snapshot date", snapshot),
        ("SKUs in stock", len(rows)),
        ("Overstock SKUs", len(overstock)),
        ("Reorder SKUs", len(reorder)),
        ("OK SKUs", sum(1 for r in rows if r[5] == OK)),
        ("Stock (t)", tonnes(sum((r[2] for r in rows), Decimal(0)))),
        ("Excess stock (t)", tonnes(sum((r[5] for r in overstock), Decimal(0)))),
    ]
    notes = [
        f"Months of cover = stock in the latest snapshot / forecast monthly demand (mean of the "
        f"next {params.forecast_months} months). Overstock above {params.overstock_months} "
        f"months, reorder below {params.reorder_months}. A SKU with stock and no forecast "
        f"demand has infinite cover (blank) and counts as overstock; all its stock is excess.",
        forecast.METHOD_NOTE,
    ]
    return ReportData(KIND, KINDS[KIND], params, summary, tables, charts, notes)
