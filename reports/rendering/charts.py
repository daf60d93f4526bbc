"""Charts of a report, drawn with matplotlib from the chart's table.

Figures are built with the object API (``matplotlib.figure.Figure``), never pyplot:
no global figure registry, no GUI backend, safe in a worker thread.  ``chart_svg``
gives inline ``<svg>`` markup for the HTML page (text kept as text, so the title can
be read and searched), ``chart_png`` a PNG for email.  A chart over an empty table is
not drawn: both return ``None``.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html import escape

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..data import Chart, ReportData, Table

# SVG text stays <text> (smaller, selectable, findable by its title) instead of glyph
# paths.  rcParams is read when the SVG is written; setting it once here, rather than
# in an rc_context around each save, avoids races between threads.
matplotlib.rcParams["svg.fonttype"] = "none"

KINDS = ("bar", "barh", "line", "stacked")
FIGSIZE = (8.0, 4.0)  # inches
DPI = 100  # PNG: 800 x 400 px
MAX_CATEGORIES = 25  # bar charts: more rows than this are cut (the table has them all)
MAX_TICK_LABELS = 24  # line charts: every n-th category is labelled beyond this
BARH_INCHES_PER_ROW = 0.2  # horizontal bars: the figure grows with the rows, up to 7 in
MAX_LABEL_CHARS = 28  # longer category labels are shortened with an ellipsis
COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)


@dataclass
class _Prepared:
    chart: Chart
    categories: list[str]
    series: list[tuple[str, list[float]]]  # (legend label, values; nan where missing)
    total: int  # categories in the table (before the cut)
    x_label: str
    y_label: str


def chart_svg(data: ReportData, chart: Chart) -> str | None:
    """Inline ``<svg>`` markup (no XML prolog) with a ``<title>``; ``None`` for no data."""
    figure = chart_figure(data, chart)
    if figure is None:
        return None
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return _inline_svg(buffer.getvalue(), chart)


def chart_png(data: ReportData, chart: Chart, *, dpi: int = DPI) -> bytes | None:
    """The chart as PNG bytes; ``None`` for no data.

    800 x 400 px at the default dpi (horizontal bars grow taller with their rows).
    """
    figure = chart_figure(data, chart)
    if figure is None:
        return None
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def has_data(data: ReportData, chart: Chart) -> bool:
    """Whether the chart would be drawn (its table has rows), without drawing it."""
    return _prepare(data, chart) is not None


def chart_figure(data: ReportData, chart: Chart) -> Figure | None:
    """The matplotlib ``Figure`` of a chart, or ``None`` when its table has no rows.

    Raises ``ValueError`` when the chart names a table, column or kind that does not
    exist: that is a bug in the report's query module, not missing data.
    """
    prepared = _prepare(data, chart)
    if prepared is None:
        return None
    width, height = FIGSIZE
    if chart.kind == "barh":
        height = min(max(height, 1.5 + BARH_INCHES_PER_ROW * len(prepared.categories)), 7.0)
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    ax = figure.add_subplot()
    _draw(ax, prepared)
    title = chart.title
    if prepared.total > len(prepared.categories) and chart.kind != "line":
        title = f"{title} (first {len(prepared.categories)} of {prepared.total})"
    ax.set_title(_plain(title), fontsize=12, fontweight="bold", loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    if len(prepared.series) > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
                  fontsize="small", title=None)
    return figure


# --- data -------------------------------------------------------------------------


def _prepare(data: ReportData, chart: Chart) -> _Prepared | None:
    if chart.kind not in KINDS:
        raise ValueError(f"Chart {chart.key!r}: unknown kind {chart.kind!r} ({', '.join(KINDS)}).")
    table = _table(data, chart)
    if table.is_empty or not chart.series:
        return None
    index = {column.key: i for i, column in enumerate(table.columns)}
    missing = [key for key in (chart.x, *chart.series) if key not in index]
    if missing:
        raise ValueError(f"Chart {chart.key!r}: table {table.key!r} has no column "
                         f"{', '.join(map(repr, missing))}.")
    rows = table.rows
    if chart.kind != "line":
        rows = rows[:MAX_CATEGORIES]
    x_column = table.columns[index[chart.x]]
    series_columns = [table.columns[index[key]] for key in chart.series]
    categories = [_category(row[index[chart.x]]) for row in rows]
    series = [
        (_plain(column.label or column.key), [_number(row[index[column.key]]) for row in rows])
        for column in series_columns
    ]
    units = {column.unit for column in series_columns}
    y_unit = units.pop() if len(units) == 1 else ""
    return _Prepared(
        chart=chart,
        categories=categories,
        series=series,
        total=len(table.rows),
        x_label=_plain(_with_unit(chart.x_label or x_column.label, x_column.unit)),
        y_label=_plain(_with_unit(chart.y_label or (series_columns[0].label if len(series) == 1
                                                    else ""), y_unit)),
    )


def _table(data: ReportData, chart: Chart) -> Table:
    for table in data.tables:
        if table.key == chart.table:
            return table
    raise ValueError(f"Chart {chart.key!r}: the report has no table {chart.table!r}.")


def _category(value) -> str:
    if value is None:
        text = "(none)"
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    text = text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1] + "…"
    return _plain(text)


def _plain(text: str) -> str:
    """Text drawn as is: a ``$`` in a client's name must not start matplotlib mathtext."""
    return text.replace("$", r"\$")


def _number(value) -> float:
    """A plottable float: ``nan`` (a gap in a line, no bar) for ``None`` or non-numbers."""
    if isinstance(value, bool) or value is None:
        return math.nan
    if isinstance(value, int | float | Decimal):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _with_unit(label: str, unit: str) -> str:
    if not unit or f"({unit})" in label:
        return label
    return f"{label} ({unit})" if label else unit


def _tick(value: float, _position=None) -> str:
    """Axis numbers with thousands separators: 12,500 / 0.25."""
    return f"{value:,.10g}"


# --- drawing ----------------------------------------------------------------------


def _draw(ax, prepared: _Prepared) -> None:
    kind = prepared.chart.kind
    positions = list(range(len(prepared.categories)))
    count = len(prepared.series)
    colors = [COLORS[i % len(COLORS)] for i in range(count)]
    if kind == "line":
        marker = "o" if len(positions) <= 36 else None
        for (label, values), color in zip(prepared.series, colors, strict=True):
            ax.plot(positions, values, label=label, color=color, marker=marker,
                    markersize=3, linewidth=1.6)
    elif kind == "stacked":
        up = [0.0] * len(positions)
        down = [0.0] * len(positions)
        for (label, values), color in zip(prepared.series, colors, strict=True):
            values = [0.0 if math.isnan(v) else v for v in values]
            bottoms = [d if v < 0 else u for v, u, d in zip(values, up, down, strict=True)]
            ax.bar(positions, values, bottom=bottoms, width=0.8, label=label, color=color)
            up = [u + max(v, 0.0) for u, v in zip(up, values, strict=True)]
            down = [d + min(v, 0.0) for d, v in zip(down, values, strict=True)]
    else:
        width = 0.8 / count
        for i, ((label, values), color) in enumerate(zip(prepared.series, colors, strict=True)):
            offsets = [p - 0.4 + width * (i + 0.5) for p in positions]
            values = [0.0 if math.isnan(v) else v for v in values]
            if kind == "barh":
                ax.barh(offsets, values, height=width, label=label, color=color)
            else:
                ax.bar(offsets, values, width=width, label=label, color=color)

    if kind == "line" and all(v >= 0 for _, values in prepared.series for v in values
                              if not math.isnan(v)):
        ax.set_ylim(bottom=0)  # weights: a trend read against zero, not a zoomed band

    if kind == "barh":
        _categories_axis(ax.yaxis, prepared.categories, rotate=False, thin=False)
        ax.invert_yaxis()  # the table's first row at the top
        value_axis = ax.xaxis
        ax.set_xlabel(prepared.y_label)
        ax.set_ylabel(prepared.x_label)
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    else:
        _categories_axis(ax.xaxis, prepared.categories, rotate=True, thin=kind == "line")
        value_axis = ax.yaxis
        ax.set_xlabel(prepared.x_label)
        ax.set_ylabel(prepared.y_label)
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    value_axis.set_major_formatter(FuncFormatter(_tick))
    value_axis.set_major_locator(MaxNLocator(nbins=6))


def _categories_axis(axis, categories: list[str], *, rotate: bool, thin: bool) -> None:
    """One label per category; a line chart over many periods labels every n-th."""
    count = len(categories)
    step = max(1, math.ceil(count / MAX_TICK_LABELS)) if thin else 1
    ticks = list(range(0, count, step))
    axis.set_ticks(ticks, [categories[i] for i in ticks])
    longest = max((len(c) for c in categories), default=0)
    if rotate and (longest * len(ticks) > 60 or longest > 10):
        for label in axis.get_ticklabels():
            label.set_rotation(35 if len(ticks) <= 12 else 60)
            label.set_horizontalalignment("right")
            label.set_rotation_mode("anchor")
    axis.set_tick_params(labelsize="small")


# --- SVG post-processing -----------------------------------------------------------

_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)
_SVG_OPEN = re.compile(r"<svg\b[^>]*>")


def _inline_svg(svg: str, chart: Chart) -> str:
    """Strip the prolog and doctype, make ids unique per chart, add a title and role.

    Several charts share one HTML page: matplotlib's ids (``axes_1``, ``patch_1``...) would
    repeat, so each is prefixed with the chart key.
    """
    svg = _METADATA.sub("", _PROLOG.sub("", svg, count=1), count=1)
    prefix = "c-" + re.sub(r"[^A-Za-z0-9_-]+", "-", chart.key) + "-"
    svg = re.sub(r'\bid="', f'id="{prefix}', svg)
    svg = re.sub(r"url\(#", f"url(#{prefix}", svg)
    svg = re.sub(r'href="#', f'href="#{prefix}', svg)
    title_id = f"{prefix}title"
    match = _SVG_OPEN.search(svg)
    if match is None:  # pragma: no cover - matplotlib always writes one
        raise ValueError("matplotlib produced no <svg> element")
    opening = match.group(0)[:-1].rstrip("/")
    opening += f' role="img" aria-labelledby="{title_id}" class="chart-svg">'
    title = f'<title id="{title_id}">{escape(chart.title)}</title>'
    return svg[: match.start()] + opening + title + svg[match.end():]
