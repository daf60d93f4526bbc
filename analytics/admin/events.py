"""Back office of product events (analytics.Event): capture log, partitions.

Events are read-only here (written by capture, removed by retention).  The name filter
offers the names of the latest events (a DISTINCT over the whole table would read
every row); any name can still be asked for with ``?name=...``, a person with
``?distinct_id=...``.  The partitions page
(staff who may view events) lists the month partitions with the planner's row
estimates.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path

from core.admin.base import ReadOnlyModelAdmin

from .. import partitions
from ..models import Event

NAME_SAMPLE = 1000  # latest events whose names the filter offers


class RecentNameFilter(admin.SimpleListFilter):
    title = "name"
    parameter_name = "name"

    def lookups(self, request, model_admin):
        latest = (model_admin.get_queryset(request).order_by("-id")
                  .values_list("name", flat=True)[:NAME_SAMPLE])
        return [(name, name) for name in sorted(set(latest))]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(name=value) if value else queryset


@admin.register(Event)
class EventAdmin(ReadOnlyModelAdmin):
    list_display = ("timestamp", "name", "workspace", "distinct_id", "source", "received_at")
    list_filter = ("source", RecentNameFilter)
    date_hierarchy = "timestamp"
    change_list_template = "admin/analytics/event/change_list.html"

    def get_urls(self):
        return [path("partitions/", self.admin_site.admin_view(self.partitions_view),
                     name="analytics_event_partitions"), *super().get_urls()]

    def partitions_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return TemplateResponse(request, "admin/analytics/event/partitions.html", {
            **self.admin_site.each_context(request),
            "opts": self.opts, "title": "Product event partitions",
            "partitioned": partitions.is_partitioned(),
            "partitions": partitions.partitions(),
            "retention_days": partitions.retention_days(),
            "months_ahead": partitions.MONTHS_AHEAD,
        })
