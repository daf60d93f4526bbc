"""Client sales performance: weight per client per period, growth, ranking, top/bottom N.

Sums are grouped in the database; growth uses ``LAG`` over the grouped rows.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import F, Sum, Window
from django.db.models.functions import Lag

from ..data import Chart, Column, ReportData, ReportParameters, Table
from . import base
from .common import growth, lagged, period_label, share, tonnes, trunc_period

KIND = "client_sales"
TITLE = "Client sales performance"
WEIGHT = "net_weight_tonnes"


def client_label(code, name) -> str:
    """``"1001 \u2013 Acme"`` (an en dash); the code alone when the client has no name."""
    return f"{code} \u2013 {name}" if name else str(code)


def _lags(**window) -> dict[str, Window]:
    """The previous row's weight and period start.

    A separate ``annotate()`` after the ``Sum``: in the same call Django would add
    the window columns to the GROUP BY, which PostgreSQL rejects.
    """
    window["order_by"] = F("period").asc()
    return {"prev_weight": Window(Lag("weight"), **window),
            "prev_period": Window(Lag("period"), **window)}


def _per_client_period(qs, grouping: str) -> list[tuple]:
    rows = (
        qs.annotate(period=trunc_period("sale_date", grouping))
        .values("client__code", "client__name", "period")
        .annotate(weight=Sum(WEIGHT))
        .annotate(**_lags(partition_by=[F("client__code")]))
        .order_by("client__code", "period")
    )
    out = []
    for r in rows:
        previous = lagged(r["prev_weight"], r["prev_period"], r["period"], grouping)
        out.append((client_label(r["client__code"], r["client__name"]),
                    period_label(r["period"], grouping), tonnes(r["weight"]),
                    None if previous is None else tonnes(previous),
                    growth(r["weight"], previous)))
    return out


def _per_period(qs, grouping: str) -> list[tuple]:
    rows = (
        qs.annotate(period=trunc_period("sale_date", grouping))
        .values("period")
        .annotate(weight=Sum(WEIGHT))
        .annotate(**_lags())
        .order_by("period")
    )
    return [
        (period_label(r["period"], grouping), tonnes(r["weight"]),
         growth(r["weight"], lagged(r["prev_weight"], r["prev_period"], r["period"], grouping)))
        for r in rows
    ]


def _ranking(qs) -> list[tuple]:
    """(rank, client, weight, share %), heaviest first; ties by client code."""
    rows = list(qs.values("client__code", "client__name").annotate(weight=Sum(WEIGHT))
                .order_by("-weight", "client__code"))
    total = sum((r["weight"] for r in rows), Decimal(0))
    return [(rank, client_label(r["client__code"], r["client__name"]), tonnes(r["weight"]),
             share(r["weight"], total))
            for rank, r in enumerate(rows, start=1)]


def build(workspace_id: int, params: ReportParameters) -> ReportData:
    qs = base.sales(workspace_id, params)
    grouping = params.grouping
    unit = "Quarter" if grouping == "quarter" else "Month"
    top_n = max(params.top_n, 0)

    ranking = _ranking(qs)
    ranked_columns = [Column("rank", "Rank"), Column("client", "Client"),
                      Column("weight_t", "Weight", "t"), Column("share_pct", "Share", "%")]
    total = sum((row[2] for row in ranking), Decimal(0))
    tables = [
        Table("client_totals", "Weight per client over the period", ranked_columns, ranking),
        Table("top_clients", f"Top {top_n} clients by weight", ranked_columns, ranking[:top_n]),
        Table("bottom_clients", f"Bottom {top_n} clients by weight", ranked_columns,
              ranking[::-1][:top_n]),
        Table("client_periods", f"Weight per client per {unit.lower()}",
              [Column("client", "Client"), Column("period", unit),
               Column("weight_t", "Weight", "t"),
               Column("previous_t", f"Previous {unit.lower()}", "t"),
               Column("growth_pct", "Growth", "%")],
              _per_client_period(qs, grouping)),
        Table("period_totals", f"Total weight per {unit.lower()}",
              [Column("period", unit), Column("weight_t", "Weight", "t"),
               Column("growth_pct", "Growth", "%")],
              _per_period(qs, grouping)),
    ]
    summary = [
        ("Total weight (t)", tonnes(total)),
        ("Clients with sales", len(ranking)),
        (f"Top {top_n} share (%)", share(sum((r[2] for r in ranking[:top_n]), Decimal(0)),
                                         total)),
    ]
    charts = [
        Chart("top_clients_chart", f"Top {top_n} clients by weight", "top_clients",
              x="client", series=("weight_t",), kind="barh", x_label="Client"),
        Chart("period_totals_chart", f"Total weight per {unit.lower()}", "period_totals",
              x="period", series=("weight_t",), kind="line", x_label=unit),
    ]
    notes = [
        f"Growth compares each {unit.lower()} with the one before; it is empty when the "
        "previous one had no sales (or lies before the start date).",
        "Periods at the edges of the date range may be partial.",
    ]
    return ReportData(KIND, TITLE, params, summary=summary, tables=tables, charts=charts,
                      notes=notes)
