"""A Gantt-style timing chart of an execution's spans, as SVG.

One bar per attempt, placed from ``started_at`` to ``finished_at`` relative to the
execution's start and coloured by status; rows go by start time (spans not started
yet last, without a bar).  A span still running is drawn up to ``now``, hatched by a
lighter fill.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from core.admin.display import AMBER, BLUE, GREEN, GREY, RED

STATUS_COLOURS = {
    "pending": GREY, "queued": GREY, "running": BLUE, "succeeded": GREEN, "failed": RED,
    "skipped": "#9ca3af", "cancelled": AMBER, "timed_out": "#7c2d12",
}
LABEL_W, CHART_W, ROW_H, BAR_H, AXIS_H, MARGIN = 200, 640, 24, 14, 24, 8
TAIL_W = 64  # room right of the chart for the last bar's duration label
LABEL_MAX = 28
TICKS = 5


def duration_label(ms: float) -> str:
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms / 60_000:.1f} min"


def ordered_spans(spans) -> list:
    """Spans in chart order: by start time, then attempt; not started last."""
    return sorted(spans, key=lambda s: (s.started_at is None,
                                        s.started_at.timestamp() if s.started_at else 0,
                                        s.attempt, s.pk or 0))


def render_gantt(spans, *, start: datetime | None = None,
                 now: datetime | None = None) -> SafeString:
    """The chart's SVG markup. ``start``: the execution's start (default: the first span's)."""
    spans = ordered_spans(spans)
    if not spans:
        return mark_safe('<p class="wf-empty">No spans yet.</p>')
    now = now or timezone.now()
    begun = [s.started_at for s in spans if s.started_at]
    origin = start or (min(begun) if begun else now)
    if begun:
        origin = min(origin, *begun)

    def end_of(span):
        return span.finished_at or (now if span.status == "running" else span.started_at)

    ends = [end_of(s) for s in spans if s.started_at]
    total_ms = max([(e - origin).total_seconds() * 1000 for e in ends if e] + [1.0])
    scale = CHART_W / total_ms
    height = AXIS_H + len(spans) * ROW_H + MARGIN
    width = LABEL_W + CHART_W + TAIL_W + MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="wf-gantt" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="Timing of {len(spans)} spans over {escape(duration_label(total_ms))}">'
    ]
    for tick in range(TICKS + 1):  # the time axis
        x = LABEL_W + tick * CHART_W / TICKS
        parts.append(f'<line x1="{x:.1f}" y1="{AXIS_H - 4}" x2="{x:.1f}" y2="{height}" '
                     f'stroke="#e5e7eb" stroke-width="1"/>'
                     f'<text x="{x:.1f}" y="{AXIS_H - 8}" font-size="10" text-anchor="middle" '
                     f'font-family="sans-serif" fill="#6b7280">'
                     f"{escape(duration_label(total_ms * tick / TICKS))}</text>")
    for row, span in enumerate(spans):
        y = AXIS_H + row * ROW_H
        label = f"{span.node_key} #{span.attempt}" if span.attempt > 1 else span.node_key
        if len(label) > LABEL_MAX:
            label = label[: LABEL_MAX - 1] + "…"
        colour = STATUS_COLOURS.get(span.status, GREY)
        parts.append(f'<g class="wf-bar" data-node="{escape(span.node_key)}" '
                     f'data-attempt="{span.attempt}" data-status="{escape(span.status)}">'
                     f'<text x="{LABEL_W - 6}" y="{y + ROW_H / 2 + 4:.1f}" font-size="12" '
                     f'text-anchor="end" font-family="sans-serif" fill="#111827">'
                     f"{escape(label)}</text>")
        if span.started_at is None:
            parts.append(f'<text x="{LABEL_W + 4}" y="{y + ROW_H / 2 + 4:.1f}" font-size="11" '
                         f'font-family="sans-serif" fill="#6b7280">'
                         f"{escape(span.get_status_display())}, not started</text></g>")
            continue
        x = LABEL_W + (span.started_at - origin).total_seconds() * 1000 * scale
        end = end_of(span)
        ms = (end - span.started_at).total_seconds() * 1000 if end else 0
        bar_w = max(ms * scale, 2.0)
        shown_ms = span.duration_ms if span.duration_ms is not None else ms
        offset_ms = (span.started_at - origin).total_seconds() * 1000
        title = (f"{span.node_key} attempt {span.attempt}: {span.get_status_display()}, "
                 f"{duration_label(shown_ms)}, from +{duration_label(offset_ms)}")
        if span.error:
            title += f" — {span.error[:200]}"
        opacity = ' fill-opacity="0.55"' if span.finished_at is None else ""
        parts.append(f"<title>{escape(title)}</title>"
                     f'<rect x="{x:.1f}" y="{y + (ROW_H - BAR_H) / 2:.1f}" width="{bar_w:.1f}" '
                     f'height="{BAR_H}" rx="2" fill="{colour}"{opacity}/>'
                     f'<text x="{x + bar_w + 4:.1f}" '
                     f'y="{y + ROW_H / 2 + 4:.1f}" font-size="10" font-family="sans-serif" '
                     f'fill="#374151">{escape(duration_label(shown_ms))}</text></g>')
    parts.append("</svg>")
    return mark_safe("".join(parts))
