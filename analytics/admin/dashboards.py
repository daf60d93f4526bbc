"""Back office of metrics, dashboards (charts), exports and rollups.

A dashboard's page links to its charts (``<id>/charts/``): every widget computed by the
same service as the API (``analytics.services.dashboards.dashboard_data``), lines and bars
drawn as inline SVG by the reports' chart renderer (matplotlib), numbers and tables as
HTML.  Metrics are checked by the same rule as the API (``metric_validate``); exports are
queued through the export service and downloaded from their page once written.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from analytics import models as m
from analytics.queries.windows import bound, zone_named
from analytics.services import dashboards, exports
from core.admin.base import BaseModelAdmin, ReadOnlyModelAdmin
from core.admin.display import BLUE, GREEN, GREY, RED, status_badge
from core.admin.services import adopt, error_text
from core.downloads import CSV_TYPE, file_download
from reports.data import Chart, Column, ReportData, ReportParameters, Table
from reports.rendering.charts import chart_svg

CHARTS_TEMPLATE = "analytics/dashboards/charts.html"
EXPORT_COLOURS = {m.Export.Status.QUEUED: GREY, m.Export.Status.RUNNING: BLUE,
                  m.Export.Status.SUCCEEDED: GREEN, m.Export.Status.FAILED: RED}
PARQUET_TYPE = "application/vnd.apache.parquet"


class MetricForm(forms.ModelForm):
    """The model's checks plus the metric rule every door applies."""

    def _post_clean(self):
        super()._post_clean()
        try:
            dashboards.metric_validate(self.instance,
                                       exclude=self._get_validation_exclusions())
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                target = field if field in self.fields else None
                if target in self.errors:  # the field's own error says it already
                    continue
                for message in messages:
                    if message not in self.errors.get("__all__", []):
                        self.add_error(target, message)


@admin.register(m.Metric)
class MetricAdmin(BaseModelAdmin):
    form = MetricForm
    list_display = ("name", "event_name", "kind", "property", "workspace", "updated_at")
    list_filter = ("kind",)
    search_fields = ("name", "event_name")


@admin.register(m.Dashboard)
class DashboardAdmin(BaseModelAdmin):
    list_display = ("name", "range_days", "workspace", "charts_link", "updated_at")
    search_fields = ("name",)
    readonly_fields = ("created_by", "charts_link", "widget_list")
    object_pages = {"charts": ("charts/", "charts_view")}

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="charts")
    def charts_link(self, dashboard):
        if not dashboard.pk:
            return "—"
        return format_html('<a href="{}">View the charts</a>',
                           reverse("admin:analytics_dashboard_charts", args=[dashboard.pk]))

    @admin.display(description="widgets")
    def widget_list(self, dashboard):
        if not dashboard.pk:
            return "Save the dashboard, then add its widgets."
        rows = format_html_join("", '<li><a href="{}">{}</a> ({}, {})</li>', (
            (reverse("admin:analytics_dashboardwidget_change", args=[w.pk]), w,
             w.get_chart_display(), w.get_interval_display())
            for w in dashboard.widgets.select_related("metric").order_by("position", "id")))
        add = reverse("admin:analytics_dashboardwidget_add")
        return format_html('<ul>{}</ul><a href="{}?dashboard={}&workspace={}">Add a widget</a>',
                           rows, add, dashboard.pk, dashboard.workspace_id)

    def charts_view(self, request, object_id):
        dashboard = self.get_object_or_404(request, object_id)
        params = request.GET
        error = None
        try:
            zone = zone_named(params.get("tz") or "UTC")
            data = dashboards.dashboard_data(
                dashboard, start=bound(params.get("from"), zone, field="from", end=False),
                end=bound(params.get("to"), zone, field="to", end=True), tz=zone.key)
        except ValidationError as exc:
            error = error_text(exc)
            data = dashboards.dashboard_data(dashboard)
        context = {**self.admin_site.each_context(request), "opts": self.opts,
                   "title": f"{dashboard}: charts", "dashboard": dashboard, "data": data,
                   "error": error, "widgets": [_rendered(w) for w in data["widgets"]],
                   "params": params}
        return TemplateResponse(request, CHARTS_TEMPLATE, context)


def _rendered(widget: dict) -> dict:
    """A widget's data with what the page shows: an SVG chart, a number or a table."""
    shown = {**widget, "svg": None, "buckets": []}
    if widget["error"] or widget["chart"] == m.DashboardWidget.Chart.NUMBER:
        return shown
    buckets = [p["bucket"] for p in widget["series"][0]["points"]] if widget["series"] else []
    width = {"hour": 16, "month": 7}.get(widget["interval"], 10)  # 2026-03-01 12:00
    shown["buckets"] = [(bucket[:width].replace("T", " "),
                         [s["points"][n]["value"] for s in widget["series"]])
                        for n, bucket in enumerate(buckets)]
    if widget["chart"] == m.DashboardWidget.Chart.TABLE or not buckets:
        return shown
    keys = [f"s{n}" for n in range(len(widget["series"]))]
    table = Table(key="points", title=widget["title"],
                  columns=[Column("bucket", widget["interval"]),
                           *(Column(k, s["label"]) for k, s in zip(keys, widget["series"],
                                                                   strict=True))],
                  rows=[(label, *values) for label, values in shown["buckets"]])
    chart = Chart(key=f"widget-{widget['id']}", title=widget["title"], table="points",
                  x="bucket", series=tuple(keys),
                  kind="line" if widget["chart"] == m.DashboardWidget.Chart.LINE else "bar",
                  y_label=widget["metric_name"])
    svg = chart_svg(ReportData(kind="dashboard", title=widget["title"],
                               parameters=ReportParameters(), tables=[table], charts=[chart]),
                    chart)
    shown["svg"] = mark_safe(svg) if svg else None  # markup drawn by matplotlib from numbers
    return shown


@admin.register(m.DashboardWidget)
class DashboardWidgetAdmin(BaseModelAdmin):
    list_display = ("__str__", "dashboard", "metric", "chart", "interval", "position",
                    "workspace")
    list_filter = ("chart", "interval")
    search_fields = ("title", "dashboard__name", "metric__name")


@admin.register(m.Export)
class ExportAdmin(BaseModelAdmin):
    list_display = ("id", "format", "event_name", "status_badge", "row_count", "workspace",
                    "requested_by", "created_at", "download_link")
    list_filter = ("status", "format")
    search_fields = ("event_name",)
    object_pages = {"download": ("download/", "download_view")}
    fields = ("workspace", "format", "event_name", "filters", "date_from", "date_to",
              "status_badge", "row_count", "error", "started_at", "finished_at",
              "requested_by", "download_link")
    readonly_fields = ("status_badge", "row_count", "error", "started_at", "finished_at",
                       "requested_by", "download_link")

    # An export is a record of a job: made, viewed, downloaded, deleted; never edited.
    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        obj.requested_by = request.user
        adopt(obj, exports.export_queue(obj))

    def delete_model(self, request, obj):
        exports.export_delete(obj)

    def delete_queryset(self, request, queryset):
        for export in queryset:
            exports.export_delete(export)

    @admin.display(description="status", ordering="status")
    def status_badge(self, export):
        return status_badge(export.status, export.get_status_display(), EXPORT_COLOURS)

    @admin.display(description="file")
    def download_link(self, export):
        if export.status != m.Export.Status.SUCCEEDED or not export.file:
            return "—"
        return format_html('<a href="{}">Download ({} rows)</a>',
                           reverse("admin:analytics_export_download", args=[export.pk]),
                           export.row_count)

    def download_view(self, request, object_id):
        export = self.get_object_or_404(request, object_id)
        if export.status != m.Export.Status.SUCCEEDED or not export.file:
            raise Http404("This export has no file yet.")
        kind = PARQUET_TYPE if export.format == m.Export.Format.PARQUET else CSV_TYPE
        try:
            return file_download(export.file, kind)
        except OSError as exc:
            raise Http404("The export's file is missing from storage.") from exc


@admin.register(m.BusinessMetric)
class BusinessMetricAdmin(ReadOnlyModelAdmin):
    list_display = ("day", "name", "value", "unit", "workspace", "computed_at")
    list_filter = ("name", "day")
    date_hierarchy = "day"


@admin.register(m.UserBehaviorMetric)
class UserBehaviorMetricAdmin(ReadOnlyModelAdmin):
    list_display = ("day", "distinct_id", "events", "sessions", "distinct_event_names",
                    "workspace")
    list_filter = ("day",)
    search_fields = ("=distinct_id",)
    date_hierarchy = "day"


@admin.register(m.UserInsight)
class UserInsightAdmin(ReadOnlyModelAdmin):
    list_display = ("distinct_id", "first_seen", "last_seen", "active_days", "total_events",
                    "workspace")
    search_fields = ("=distinct_id",)
