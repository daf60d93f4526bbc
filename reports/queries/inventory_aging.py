"""Inventory aging: stock of the latest snapshot by age bucket of ``days_in_stock``.

All sums are conditional aggregates grouped in the database; one query per table.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Case, CharField, Max, Q, Sum, Value, When

from ..data import Chart, Column, ReportData, ReportParameters, Table
from . import base
from .common import share, tonnes

KIND = "inventory_aging"
TITLE = "Inventory aging"

# (column key, label, lowest day, highest day or None): contiguous, from 0 days.
# Labels use an en dash (\u2013) between the bounds.
BUCKETS = (
    ("days_0_30", "0\u201330 days", 0, 30),
    ("days_31_60", "31\u201360 days", 31, 60),
    ("days_61_90", "61\u201390 days", 61, 90),
    ("days_91_180", "91\u2013180 days", 91, 180),
    ("days_over_180", ">180 days", 181, None),
)
OLD_AFTER_DAYS = 90  # the summary's "share over 90 days"

# (table key, grouped field, column label, table title)
GROUPINGS = (
    ("aging_by_centre", "centre", "Centre", "Stock by age per centre"),
    ("aging_by_material_type", "material_type", "Material type", "Stock by age per material type"),
    ("aging_by_product_group", "product_group", "Product group", "Stock by age per product group"),
)


def _bucket_q(low: int, high: int | None) -> Q:
    q = Q(days_in_stock__gte=low)
    return q & Q(days_in_stock__lte=high) if high is not None else q


def _bucket_sums() -> dict[str, Sum]:
    """One filtered ``SUM`` per bucket (FILTER on PostgreSQL, CASE on SQLite), plus the total."""
    sums = {key: Sum("stock_tonnes", filter=_bucket_q(low, high))
            for key, _label, low, high in BUCKETS}
    sums["total"] = Sum("stock_tonnes")
    return sums


def _by(qs, field: str) -> list[tuple]:
    rows = (qs.values(field).annotate(**_bucket_sums())
            .order_by("-total", field))
    keys = [key for key, *_ in BUCKETS] + ["total"]
    return [(row[field], *(tonnes(row[key]) for key in keys)) for row in rows]


def _bucket_columns() -> list[Column]:
    return [Column(key, label, "t") for key, label, *_ in BUCKETS] + [
        Column("total", "Total", "t")
    ]


def _totals(qs) -> list[tuple]:
    """Stock per bucket (``CASE`` bucket, grouped), every bucket listed once there is stock."""
    bucket = Case(*(When(_bucket_q(low, high), then=Value(key))
                    for key, _label, low, high in BUCKETS),
                  output_field=CharField())
    sums = dict(qs.annotate(bucket=bucket).values("bucket")
                .annotate(stock=Sum("stock_tonnes")).values_list("bucket", "stock"))
    if not sums:
        return []
    total = sum(sums.values(), Decimal(0))
    return [(label, tonnes(sums.get(key)), share(sums.get(key, 0), total))
            for key, label, *_ in BUCKETS]


def build(workspace_id: int, params: ReportParameters) -> ReportData:
    qs = base.inventory(workspace_id, params)
    head = qs.aggregate(total=Sum("stock_tonnes"), snapshot=Max("snapshot_date"),
                        old=Sum("stock_tonnes", filter=Q(days_in_stock__gt=OLD_AFTER_DAYS)))

    tables = [Table(key, title, [Column(field, label), *_bucket_columns()], _by(qs, field))
              for key, field, label, title in GROUPINGS]
    tables.append(Table("aging_totals", "Stock per age bucket",
                        [Column("bucket", "Age bucket"), Column("stock_t", "Stock", "t"),
                         Column("share_pct", "Share of stock", "%")],
                        _totals(qs)))

    summary = [
        ("Total stock (t)", tonnes(head["total"])),
        ("Share of stock over 90 days (%)", share(head["old"], head["total"])),
        ("Snapshot date", head["snapshot"]),
    ]
    charts = [
        Chart("aging_by_centre_chart", "Stock by age per centre", "aging_by_centre",
              x="centre", series=tuple(key for key, *_ in BUCKETS), kind="stacked",
              x_label="Centre"),
        Chart("aging_totals_chart", "Stock per age bucket", "aging_totals",
              x="bucket", series=("stock_t",), x_label="Age bucket (days in stock)"),
    ]
    notes = [
        "Stock is the latest inventory snapshot on or before the end date; the start date "
        "and the state filter do not apply to stock levels.",
        "Age is days in stock at the snapshot; buckets include both ends (0 to 30, 31 to 60, ...).",
    ]
    return ReportData(KIND, TITLE, params, summary=summary, tables=tables, charts=charts,
                      notes=notes)
