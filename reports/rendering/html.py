"""A report as one self-contained HTML page: header, summary, charts, tables, notes.

``image_mode="svg"`` puts each chart inline as SVG (the page in the browser, the
archived run); ``image_mode="cid"`` refers to ``cid:chart-<key>.png`` images instead,
for an HTML email whose attachments come from ``email_images``.  Everything from the
report data is escaped by the template; only the SVG we drew ourselves is marked safe.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from ..data import Chart, Column, ReportData, ReportParameters, Table
from . import charts

TEMPLATE = "reports/report.html"
IMAGE_MODES = ("svg", "cid")
EMPTY = "—"  # a missing value
PLACES = {"t": 3, "%": 1}  # decimals shown by unit: tonnes to the kilogram, shares to 0.1
MAX_PLACES = 3


def render_html(
    data: ReportData,
    *,
    title: str | None = None,
    generated_at: datetime | None = None,
    image_mode: str = "svg",
) -> str:
    """The report page; ``title`` defaults to the report's, ``generated_at`` to now."""
    if image_mode not in IMAGE_MODES:
        raise ValueError(f"image_mode must be one of {IMAGE_MODES}, not {image_mode!r}.")
    generated_at = generated_at or timezone.now()
    context = {
        "title": title or data.title,
        "kind": data.kind,
        "generated_at": generated_at,
        "generated_at_text": _datetime_text(generated_at),
        "parameters": parameter_items(data.parameters),
        "is_empty": data.is_empty,
        "summary": [(label, format_value(value)) for label, value in data.summary],
        "charts": [] if data.is_empty else _charts(data, image_mode),
        "tables": [] if data.is_empty else [_table(table) for table in data.tables],
        "notes": data.notes,
    }
    return render_to_string(TEMPLATE, context)


def email_images(data: ReportData) -> list[tuple[str, bytes]]:
    """``(content id, PNG)`` of each drawn chart, matching ``render_html(image_mode="cid")``.

    The content id is ``chart-<key>.png``: the page refers to it as ``cid:chart-<key>.png``.
    """
    if data.is_empty:
        return []
    images = []
    for chart in data.charts:
        png = charts.chart_png(data, chart)
        if png is not None:
            images.append((chart_cid(chart), png))
    return images


def chart_cid(chart: Chart) -> str:
    return f"chart-{chart.key}.png"


# --- values -------------------------------------------------------------------------


def format_value(value: Any, unit: str = "") -> str:
    """A value as shown in the page: thousands separators, tonnes to 3 decimals."""
    if value is None:
        return EMPTY
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int | float | Decimal):
        if isinstance(value, float) and not math.isfinite(value):
            return EMPTY
        if isinstance(value, Decimal) and not value.is_finite():
            return EMPTY
        if unit in PLACES:
            places = PLACES[unit]
        elif isinstance(value, int):
            places = 0
        elif isinstance(value, Decimal):
            places = min(max(-value.as_tuple().exponent, 0), MAX_PLACES)
        else:
            places = 2
        return f"{value:,.{places}f}"
    if isinstance(value, datetime):
        return _datetime_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def column_heading(column: Column) -> str:
    """``Weight (t)``: the label with its unit, as in the HTML, CSV and XLSX headers."""
    if column.unit and f"({column.unit})" not in column.label:
        return f"{column.label} ({column.unit})"
    return column.label


def parameter_items(params: ReportParameters) -> list[tuple[str, str]]:
    """The parameters used, in words: "All" for a filter left empty."""

    def listing(values) -> str:
        return ", ".join(str(v) for v in values) if values else "All"

    if params.date_from or params.date_to:
        period = (f"{params.date_from.isoformat() if params.date_from else 'start'} to "
                  f"{params.date_to.isoformat() if params.date_to else 'latest'}")
    else:
        period = "All dates"
    return [
        ("Period", period),
        ("Clients", listing(params.clients)),
        ("States", listing(params.states)),
        ("SKUs", listing(params.skus)),
        ("Product groups", listing(params.product_groups)),
        ("Grouping", params.grouping),
        ("Top N", str(params.top_n)),
        ("Forecast months", str(params.forecast_months)),
        ("Holdout months", str(params.holdout_months)),
        ("Overstock above (months of cover)", format_value(params.overstock_months)),
        ("Reorder below (months of cover)", format_value(params.reorder_months)),
    ]


def _datetime_text(value: datetime) -> str:
    if timezone.is_aware(value):
        value = timezone.localtime(value)
        return value.strftime("%Y-%m-%d %H:%M %Z").strip()
    return value.strftime("%Y-%m-%d %H:%M")


# --- page parts -----------------------------------------------------------------------


def _charts(data: ReportData, image_mode: str) -> list[dict[str, Any]]:
    out = []
    for chart in data.charts:
        item = {"key": chart.key, "title": chart.title, "svg": None, "cid": None}
        if image_mode == "svg":
            svg = charts.chart_svg(data, chart)
            if svg is None:
                continue
            # Safe: we drew it, and matplotlib escapes every text it writes into the SVG.
            item["svg"] = mark_safe(svg)
        else:
            if not charts.has_data(data, chart):
                continue
            item["cid"] = chart_cid(chart)
        out.append(item)
    return out


# A page is for reading: longer tables show their head, and the CSV and XLSX
# files carry every row.
HTML_MAX_ROWS = 200


def _table(table: Table) -> dict[str, Any]:
    shown = table.rows[:HTML_MAX_ROWS]
    numeric = [
        column.unit in PLACES or any(is_number(row[i]) for row in shown)
        for i, column in enumerate(table.columns)
    ]
    return {
        "key": table.key,
        "title": table.title,
        "total": len(table.rows),
        "hidden": len(table.rows) - len(shown),
        "columns": [{"heading": column_heading(column), "numeric": num}
                    for column, num in zip(table.columns, numeric, strict=True)],
        "rows": [
            [{"text": format_value(value, column.unit), "numeric": num}
             for value, column, num in zip(row, table.columns, numeric, strict=True)]
            for row in shown
        ],
    }
