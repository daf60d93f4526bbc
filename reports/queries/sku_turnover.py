"""SKU turnover and demand forecast.

* ``turnover_by_sku_client``: per SKU and client, the sales weight, the number of
  invoiced lines and the average of the source's ``giro_sku_cliente``.
* ``turnover_by_sku``: per SKU, sales weight over the period divided by the
  average stock (turns in the period).  Average stock = the SKU's stock summed
  over the inventory snapshots dated in the period, divided by the number of
  those snapshots (a snapshot without the SKU counts as 0 t).  With no snapshot
  in the period the latest one on or before ``date_to`` is used; without any
  stock the turnover is left blank.
* ``forecast`` / ``forecast_error`` / ``forecast_chart``: see ``forecast.py``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, Sum

from analytics.models import InventoryRecord

from ..data import Chart, Column, ReportData, ReportParameters, Table
from ..kinds import KINDS
from . import base, forecast
from .common import percent, safe_key, tonnes

KIND = "sku_turnover"
RATIO = Decimal("0.01")
GIRO = Decimal("0.0001")
# SKU-client pairs run to the hundred thousand over a year of sales; the report
# lists the heaviest, which carry the volume, and says how many there are.
PAIR_LIMIT = 1000


def ratio(value, places: Decimal = RATIO) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(places, rounding=ROUND_HALF_UP)


def build(workspace_id: int, params: ReportParameters) -> ReportData:
    sales = base.sales(workspace_id, params)
    by_client = (sales.values("sku", "client__code", "client__name")
                 .annotate(weight=Sum("net_weight_tonnes"), lines=Count("id"),
                           giro=Avg("sku_client_turnover"))
                 .order_by("-weight", "sku", "client__code"))
    pairs = by_client.count()
    client_rows = [(r["sku"], r["client__code"], r["client__name"], tonnes(r["weight"]),
                    r["lines"], ratio(r["giro"], GIRO)) for r in by_client[:PAIR_LIMIT]]

    weights = sales.values("sku").annotate(weight=Sum("net_weight_tonnes")).order_by()
    stock = average_stock(workspace_id, params)
    sku_rows = []
    for r in sorted(weights, key=lambda r: (-r["weight"], r["sku"])):
        avg = stock.get(r["sku"])
        turns = r["weight"] / avg if avg else None
        sku_rows.append((r["sku"], tonnes(r["weight"]),
                         tonnes(avg) if avg is not None else None, ratio(turns)))

    forecasts, last = forecast.forecast_skus(workspace_id, params)
    forecast_rows, error_rows = [], []
    for f in forecasts:
        method = forecast.METHOD_LABELS[f.method]
        for h, value in enumerate(f.forecast, start=1):
            month = forecast.month_label(forecast.add_months(last, h))
            forecast_rows.append((f.sku, month, tonnes(value), method))
        if f.error:
            e = f.error
            error_rows.append((f.sku, forecast.METHOD_LABELS[e.method], len(e.actual),
                               tonnes(sum(e.actual)), tonnes(sum(e.forecast)), tonnes(e.mae),
                               percent(e.mape) if e.mape is not None else None))
    chart_table, series = history_chart(forecasts[: params.top_n], last)

    t = "Weight (t)"
    tables = [
        Table("turnover_by_sku_client", "Turnover by SKU and client", [
            Column("sku", "SKU"), Column("client_code", "Client code"),
            Column("client_name", "Client"), Column("weight_t", t, "t"),
            Column("sales_lines", "Invoice lines"),
            Column("avg_sku_client_turnover", "Avg. SKU-client turnover (giro)")], client_rows),
        Table("turnover_by_sku", "Turnover by SKU (sales / average stock)", [
            Column("sku", "SKU"), Column("weight_t", "Sales weight (t)", "t"),
            Column("avg_stock_t", "Average stock (t)", "t"),
            Column("turnover", "Turnover (times in period)")], sku_rows),
        Table("forecast", f"Demand forecast, next {params.forecast_months} months", [
            Column("sku", "SKU"), Column("month", "Month"),
            Column("forecast_t", "Forecast weight (t)", "t"), Column("method", "Method")],
            forecast_rows),
        Table("forecast_error", f"Forecast error on the last {params.holdout_months} months", [
            Column("sku", "SKU"), Column("method", "Method (fitted without holdout)"),
            Column("holdout_months", "Months held back"),
            Column("actual_t", "Actual weight (t)", "t"),
            Column("forecast_t", "Forecast weight (t)", "t"), Column("mae_t", "MAE (t)", "t"),
            Column("mape_pct", "MAPE (%)", "%")], error_rows),
        chart_table,
    ]
    charts = []
    if series:
        first = forecast.month_label(forecast.add_months(last, 1))
        charts.append(Chart("forecast_top_skus",
                            f"Monthly sales and forecast from {first}, top SKUs",
                            "forecast_chart", "month", series, "line", "Month", t))
    maes = [f.error.mae for f in forecasts if f.error]
    summary = [("SKUs sold", len(sku_rows)), ("SKU-client pairs", pairs),
               ("Sales weight (t)", tonnes(sum((r[1] for r in sku_rows), Decimal(0)))),
               ("Mean forecast MAE (t)", tonnes(sum(maes) / len(maes)) if maes else None)]
    notes = [forecast.METHOD_NOTE,
             "Turnover by SKU: sales weight / average stock over the inventory snapshots "
             "of the period (the latest snapshot when none falls in it)."]
    if pairs > PAIR_LIMIT:
        notes.append(f"Turnover by SKU and client lists the {PAIR_LIMIT:,} heaviest of "
                     f"{pairs:,} SKU-client pairs.")
    return ReportData(KIND, KINDS[KIND], params, summary, tables, charts, notes)


def average_stock(workspace_id: int, params: ReportParameters) -> dict[str, Decimal]:
    """``{sku: average stock (t)}`` over the period's snapshots, summed in the database."""
    qs = base._common(InventoryRecord.objects.filter(workspace_id=workspace_id), params)
    if params.date_from:
        qs = qs.filter(snapshot_date__gte=params.date_from)
    if params.date_to:
        qs = qs.filter(snapshot_date__lte=params.date_to)
    snapshots = qs.aggregate(n=Count("snapshot_date", distinct=True))["n"]
    if not snapshots:
        qs, snapshots = base.inventory(workspace_id, params), 1
    rows = qs.values("sku").annotate(stock=Sum("stock_tonnes")).order_by()
    return {r["sku"]: r["stock"] / snapshots for r in rows}


def history_chart(forecasts, last) -> tuple[Table, tuple[str, ...]]:
    """A wide table: one row per month (history, then forecast), one column per SKU."""
    keys = tuple(f"sku_{safe_key(f.sku)}_{i}" for i, f in enumerate(forecasts, start=1))
    columns = [Column("month", "Month"), Column("type", "Actual / forecast")]
    columns += [Column(k, f.sku, "t") for k, f in zip(keys, forecasts, strict=True)]
    rows = []
    if forecasts:
        first = min(f.start for f in forecasts)
        horizon = len(forecasts[0].forecast)
        span = (last.year - first.year) * 12 + last.month - first.month + 1
        for i in range(span + horizon):
            month = forecast.add_months(first, i)
            values = []
            for f in forecasts:
                if i < span:
                    offset = (month.year - f.start.year) * 12 + month.month - f.start.month
                    values.append(tonnes(f.history[offset]) if offset >= 0 else tonnes(0))
                else:
                    values.append(tonnes(f.forecast[i - span]))
            kind = "actual" if i < span else "forecast"
            rows.append((forecast.month_label(month), kind, *values))
    return Table("forecast_chart", "Monthly sales and forecast, top SKUs", columns, rows), keys
