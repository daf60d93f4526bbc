"""Admin of the daily rollups — call metrics per agent, user KPIs per CRM user: the rows
(read-only) and a chart page each (``RollupChartMixin``) — calls and connected calls per
day with the connect rate, over a chosen period and workspace, with a table per agent or
user — drawn with matplotlib (object API, SVG inline, as reports/ draws its charts).

Both admins are registered here (crm/admin/__init__.py imports this module).
"""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import timedelta

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.safestring import mark_safe
from matplotlib.figure import Figure

from core import tenancy
from core.admin.base import ReadOnlyModelAdmin
from workspaces.models import Workspace

from ..models.rollups import CallDailyMetric, UserDailyKpi
from ..services import kpis, rollups

CHART_TEMPLATE = "admin/crm/calldailymetric/chart.html"
DEFAULT_DAYS = 30


class ChartForm(forms.Form):
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(
        attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(
        attrs={"type": "date"}))
    workspace = forms.ModelChoiceField(queryset=Workspace.objects.none(), required=False,
                                       empty_label="All workspaces")

    def __init__(self, *args, workspaces, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workspace"].queryset = workspaces

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError("'From' is after 'To'.")
        return data


def by_day(rows, totals=rollups.totals) -> list[dict]:
    """The rows summed per day by ``totals``, oldest first (one chart point per day)."""
    days = defaultdict(list)
    for row in rows:
        days[row.day].append(row)
    return [{"day": day, **totals(group)} for day, group in sorted(days.items())]


def chart_svg(points: list[dict], title: str = "Calls per day") -> str | None:
    """Calls and connected calls per day (bars) with the connect rate (line); None when
    there is nothing to draw."""
    if not points:
        return None
    figure = Figure(figsize=(9.0, 4.0), dpi=100)
    axes = figure.add_subplot()
    labels = [p["day"].strftime("%m-%d") for p in points]
    positions = range(len(points))
    axes.bar([x - 0.2 for x in positions], [p["calls"] for p in points], width=0.4,
             label="Calls", color="#1f77b4")
    axes.bar([x + 0.2 for x in positions], [p["connected"] for p in points], width=0.4,
             label="Connected", color="#2ca02c")
    axes.set_xticks(list(positions), labels, rotation=45 if len(points) > 10 else 0,
                    fontsize=8)
    axes.set_ylabel("calls")
    rate = axes.twinx()
    rate.plot(list(positions), [float(p["connect_rate"]) * 100 for p in points],
              color="#d62728", marker="o", label="Connect rate %")
    rate.set_ylim(0, 100)
    rate.set_ylabel("connect rate %")
    handles = axes.get_legend_handles_labels()
    more = rate.get_legend_handles_labels()
    axes.legend(handles[0] + more[0], handles[1] + more[1], loc="upper left", fontsize=8)
    axes.set_title(title)
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


class RollupChartMixin:
    """A chart page for a daily rollup admin: the rows of a period (and workspace) summed
    per day into the calls chart, with a table per ``group_field`` and per day.  The
    admin names its ``chart_title`` (and ``svg_title``), ``chart_template``,
    ``group_field`` (the column after workspace and day), the label of rows without one
    (``nobody``) and its ``totals``."""

    chart_title = ""
    svg_title = "Calls per day"
    chart_template = ""
    group_field = ""
    nobody = ""
    totals = staticmethod(rollups.totals)

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_chart"
        return [path("chart/", self.admin_site.admin_view(self.chart_view), name=name),
                *super().get_urls()]

    def chart_view(self, request):
        principal = tenancy.principal_for(request)
        workspaces = tenancy.visible(Workspace.objects.all(), principal).order_by("name")
        form = ChartForm(request.GET or None, workspaces=workspaces)
        end = timezone.now().date()
        start = end - timedelta(days=DEFAULT_DAYS)
        workspace = None
        if form.is_bound and form.is_valid():
            end = form.cleaned_data.get("end") or end
            start = form.cleaned_data.get("start") or min(start, end)
            workspace = form.cleaned_data.get("workspace")
        rows = self.get_queryset(request).filter(day__gte=start, day__lte=end)
        if workspace is not None:
            rows = rows.filter(workspace=workspace)
        rows = list(rows.select_related(self.group_field, "workspace")
                    .order_by("day", f"{self.group_field}_id"))
        points = by_day(rows, self.totals)
        svg = chart_svg(points, title=self.svg_title)
        context = {**self.admin_site.each_context(request), "opts": self.opts,
                   "title": self.chart_title, "form": form, "start": start, "end": end,
                   "points": points, "totals": self.totals(rows),
                   "groups": self._groups(rows), "chart": mark_safe(svg) if svg else None}
        return TemplateResponse(request, self.chart_template, context)

    def _groups(self, rows) -> list[dict]:
        groups = defaultdict(list)
        for row in rows:
            groups[(row.workspace, getattr(row, self.group_field))].append(row)
        return [{"workspace": ws, "group": who or self.nobody, **self.totals(group)}
                for (ws, who), group in sorted(groups.items(),
                                               key=lambda kv: (kv[0][0].pk,
                                                               getattr(kv[0][1], "pk", 0)))]


@admin.register(CallDailyMetric)
class CallDailyMetricAdmin(RollupChartMixin, ReadOnlyModelAdmin):
    list_display = ("day", "workspace", "agent", "calls", "connected", "connect_rate",
                    "avg_duration_seconds", "cost", "credits", "conversions")
    list_filter = ("day",)
    date_hierarchy = "day"
    change_list_template = "admin/crm/calldailymetric/change_list.html"
    chart_title = "Call analytics"
    chart_template = CHART_TEMPLATE
    group_field = "agent"
    nobody = "(no agent)"

    @admin.display(description="connect rate")
    def connect_rate(self, row):
        return f"{row.connect_rate * 100:.1f}%"


@admin.register(UserDailyKpi)
class UserDailyKpiAdmin(RollupChartMixin, ReadOnlyModelAdmin):
    list_display = ("day", "workspace", "user", "calls", "connected", "connect_rate",
                    "talk_time_seconds", "conversions", "follow_ups_done",
                    "follow_ups_overdue", "cost", "credits")
    list_filter = ("day",)
    date_hierarchy = "day"
    change_list_template = "admin/crm/userdailykpi/change_list.html"
    chart_title = "User KPIs"
    svg_title = "Calls of the workspace's users per day"
    chart_template = "admin/crm/userdailykpi/chart.html"
    group_field = "user"
    nobody = "(nobody)"
    totals = staticmethod(kpis.totals)

    @admin.display(description="connect rate")
    def connect_rate(self, row):
        return f"{row.connect_rate * 100:.1f}%"
