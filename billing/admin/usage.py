"""Back office of usage metering: the usage records (read-only, append-only) and, linked
from their list, "usage per metric": one workspace's totals for its current or previous
billing period against the plan (included, limit, overage) and the usage per day.
The figures are billing.metering_ingest's, as in the API's usage summary."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path

from core import tenancy
from core.admin.base import ReadOnlyModelAdmin

from .. import metering_ingest as ingestion
from ..models import UsageRecord


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyModelAdmin):
    list_display = ("occurred_at", "workspace", "metric", "quantity", "transaction_id",
                    "source", "recorded_at")
    list_filter = ("metric", "source")
    search_fields = ("transaction_id",)
    change_list_template = "admin/billing/usagerecord/change_list.html"

    def get_urls(self):
        own = [path("per-metric/", self.admin_site.admin_view(self.per_metric_view),
                    name="billing_usagerecord_per_metric")]
        return [*own, *super().get_urls()]

    def per_metric_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        from workspaces.models import Workspace

        workspaces = tenancy.visible(Workspace.objects.all(), tenancy.principal_for(request))
        form = UsagePageForm(request.GET or None, workspaces=workspaces)
        summary = None
        if form.is_valid():
            data = form.cleaned_data
            summary = ingestion.usage_summary(data["workspace"].pk,
                                              period=data["period"] or "current")
        context = {**self.admin_site.each_context(request), "opts": self.opts,
                   "title": "Usage per metric", "form": form, "summary": summary,
                   **(_daily_table(summary) if summary else {})}
        return TemplateResponse(request, "admin/billing/usagerecord/per_metric.html", context)


def _daily_table(summary) -> dict:
    """Days down, metrics across (a metric without usage that day shows 0)."""
    metrics = [m.metric for m in summary.metrics]
    by_day: dict = {}
    for row in summary.daily:
        by_day.setdefault(row["day"], {})[row["metric"]] = row["quantity"]
    rows = [(day, [values.get(m, 0) for m in metrics]) for day, values in sorted(by_day.items())]
    return {"daily_metrics": metrics, "daily_rows": rows}


class UsagePageForm(forms.Form):
    # An id, not a dropdown: a select of every workspace would list the whole table.
    workspace = forms.IntegerField(min_value=1, max_value=2**63 - 1, label="Workspace id")
    period = forms.ChoiceField(choices=[(p, p.capitalize()) for p in ingestion.PERIODS],
                               required=False, initial="current")

    def __init__(self, *args, workspaces, **kwargs):
        super().__init__(*args, **kwargs)
        self.workspaces = workspaces

    def clean_workspace(self):
        pk = self.cleaned_data["workspace"]
        workspace = self.workspaces.filter(pk=pk).first()
        if workspace is None:
            raise forms.ValidationError(f"No workspace with id {pk} of yours.")
        return workspace
