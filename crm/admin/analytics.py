"""Admin of the call rollups: the rows (read-only) and a chart page — calls and
connected calls per day with the connect rate, over a chosen period, workspace and
agent — drawn with matplotlib (object API, SVG inline, as reports/ draws its charts).

Register with ``admin.site.register(CallDailyMetric, CallDailyMetricAdmin)`` (done here;
the lead imports this module from crm/admin/__init__.py).
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

from ..models.rollups import CallDailyMetric
from ..services import rollups

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


def by_day(rows) -> list[dict]:
    """The rows summed per day, oldest first (one chart point per day)."""
    days = defaultdict(list)
    for row in rows:
        days[row.day].append(row)
    return [{"day": day, **rollups.totals(group)} for day, group in sorted(days.items())]


def chart_svg(points: list[dict]) -> str | None:
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
    axes.set_title("Calls per day")
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


@admin.register(CallDailyMetric)
class CallDailyMetricAdmin(ReadOnlyModelAdmin):
    list_display = ("day", "workspace", "agent", "calls", "connected", "connect_rate",
                    "avg_duration_seconds", "cost", "credits", "conversions")
    list_filter = ("day",)
    date_hierarchy = "day"
    change_list_template = "admin/crm/calldailymetric/change_list.html"

    @admin.display(description="connect rate")
    def connect_rate(self, row):
        return f"{row.connect_rate * 100:.1f}%"

    def get_urls(self):
        return [path("chart/", self.admin_site.admin_view(self.chart_view),
                     name="crm_calldailymetric_chart"), *super().get_urls()]

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
        rows = list(rows.select_related("agent", "workspace").order_by("day", "agent_id"))
        points = by_day(rows)
        svg = chart_svg(points)
        context = {**self.admin_site.each_context(request), "opts": self.opts,
                   "title": "Call analytics", "form": form, "start": start, "end": end,
                   "points": points, "totals": rollups.totals(rows),
                   "agents": _by_agent(rows), "chart": mark_safe(svg) if svg else None}
        return TemplateResponse(request, CHART_TEMPLATE, context)


def _by_agent(rows) -> list[dict]:
    groups = defaultdict(list)
    for row in rows:
        groups[(row.workspace, row.agent)].append(row)
    return [{"workspace": ws, "agent": agent or "(no agent)", **rollups.totals(group)}
            for (ws, agent), group in sorted(groups.items(),
                                             key=lambda kv: (kv[0][0].pk,
                                                             getattr(kv[0][1], "pk", 0)))]


