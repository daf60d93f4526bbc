"""Back office of runs: executions (a run view like n8n's or Windmill's), spans, metrics.

All three are append-only: viewable, never edited.  An execution's page shows its
span tree (one row per attempt, inputs, outputs and errors folded), a Gantt-style
timing chart, and buttons to cancel or re-run it through the execution services.
Data the engine kept in file storage is offered as a download instead.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from core import tenancy
from core.admin.base import ReadOnlyModelAdmin
from core.admin.filters import MAX_CHOICES, ScopedRelatedFieldListFilter
from core.downloads import file_download

from .. import models as m
from .. import queries
from ..rendering.gantt import render_gantt
from ..rendering.graph_svg import render_graph
from ..rendering.spans import is_file_ref, pretty_json, span_tree
from .common import Unavailable, badge, call, duration, service

JSON_TYPE = "application/json"
FINISHED = {str(s) for s in m.Execution.FINISHED}


def json_block(value, *, file_url: str | None = None, open_: bool = False):
    """Pretty JSON folded in a ``<details>``; data kept in a file shows its download link."""
    if file_url or is_file_ref(value):
        size = value.get("bytes") if isinstance(value, dict) else None
        label = f"Kept in file storage ({size:,} bytes)" if size else "Kept in file storage"
        if file_url:
            return format_html('{}: <a href="{}">download the JSON</a>', label, file_url)
        return label
    if value is None:
        return "—"
    text, cut = pretty_json(value)
    note = " (cut: the page shows the beginning)" if cut else ""
    return format_html('<details class="wf-data"{}><summary>JSON{}</summary>'
                       '<pre class="wf-json">{}</pre></details>',
                       " open" if open_ else "", note, text)


def _may_run(request, execution) -> bool:
    """Cancelling and re-running start or stop runs: the API's rule (``can_run``: a role
    that may change the workflow, or a run share), for staff allowed to change workflows."""
    return request.user.has_perm("workflows.change_workflow") and \
        queries.can_run(tenancy.principal_for(request), execution.workflow)


class RerunForm(forms.Form):
    from_node = forms.ChoiceField(label="Re-run from", required=False)
    current_version = forms.BooleanField(
        required=False, label="On the workflow's current version",
        help_text="Unticked: the same version this execution ran.")

    def __init__(self, *args, execution, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "the start")]
        keys = [n.get("key") for n in (execution.version.graph or {}).get("nodes", [])]
        if execution.failed_node:
            choices.append((execution.failed_node, f"the failed node ({execution.failed_node})"))
        choices += [(key, key) for key in keys if key and key != execution.failed_node]
        self.fields["from_node"].choices = choices
        self.fields["from_node"].initial = execution.failed_node or ""


class DurationFilter(admin.SimpleListFilter):
    """Finished executions by how long they took (an index-free range on duration_ms)."""

    title, parameter_name = "duration", "duration"
    BUCKETS = {"lt1s": ("under 1 s", 0, 1_000), "1-10s": ("1 to 10 s", 1_000, 10_000),
               "10-60s": ("10 s to 1 min", 10_000, 60_000),
               "1-10min": ("1 to 10 min", 60_000, 600_000),
               "gt10min": ("over 10 min", 600_000, None)}

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _, _) in self.BUCKETS.items()]

    def queryset(self, request, queryset):
        if self.value() not in self.BUCKETS:
            return queryset
        _, low, high = self.BUCKETS[self.value()]
        queryset = queryset.filter(duration_ms__gte=low)
        return queryset if high is None else queryset.filter(duration_ms__lt=high)


class TriggerFilter(ScopedRelatedFieldListFilter):
    """Triggers named after their workflow when unnamed: read with it (no query per choice)."""

    def field_choices(self, field, request, model_admin):
        queryset = tenancy.scope_related(m.Trigger.objects.select_related("workflow"),
                                         tenancy.principal_for(request), model_admin.model)
        return [(t.pk, str(t)) for t in queryset.order_by("workflow__name", "id")[:MAX_CHOICES]]


@admin.register(m.Execution)
class ExecutionAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "workflow", "status_badge", "source", "trigger", "duration",
                    "started_at", "queued_at")
    list_display_links = ("id", "workflow")
    list_select_related = ("workflow", "trigger__workflow")
    list_filter = ("status", "source", DurationFilter, "workflow", ("trigger", TriggerFilter),
                   ("queued_at", admin.DateFieldListFilter))
    search_fields = ("=id", "workflow__name", "=trace_id")
    change_form_template = "admin/workflows/execution/change_form.html"
    object_pages = {"cancel": ("cancel/", "cancel_view"), "rerun": ("rerun/", "rerun_view"),
                    "input": ("input/", "input_file_view"),
                    "output": ("output/", "output_file_view")}
    fieldsets = (
        ("Run", {"fields": ("workflow", "version", "status_badge", "source", "trigger",
                            "started_by", "attempt", "parent", "rerun_from", "reruns_list",
                            "trace_id", "failed_node", "error")}),
        ("Timing", {"fields": ("queued_at", "started_at", "finished_at", "duration",
                               "deadline_at", "node_counts")}),
        ("Data", {"fields": ("input_data", "output_data")}),
    )
    readonly_fields = ("status_badge", "duration", "node_counts", "input_data", "output_data",
                       "reruns_list")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("input", "output")

    @admin.display(description="status", ordering="status")
    def status_badge(self, execution):
        return badge(execution)

    @admin.display(description="duration", ordering="duration_ms")
    def duration(self, execution):
        return duration(execution.duration_ms)

    @admin.display(description="nodes")
    def node_counts(self, execution):
        return (f"{execution.nodes_succeeded} succeeded, {execution.nodes_failed} failed, "
                f"of {execution.nodes_total}")

    @admin.display(description="re-runs")
    def reruns_list(self, execution):
        reruns = list(execution.reruns.only("id", "status", "rerun_from"))
        if not reruns:
            return "—"
        return format_html_join(", ", '<a href="{}">#{}</a> ({})', (
            (reverse("admin:workflows_execution_change", args=[r.pk]), r.pk,
             r.get_status_display()) for r in reruns))

    @admin.display(description="input")
    def input_data(self, execution):
        url = reverse("admin:workflows_execution_input", args=[execution.pk]) \
            if execution.input_file else None
        return json_block(execution.input, file_url=url, open_=True)

    @admin.display(description="output")
    def output_data(self, execution):
        url = reverse("admin:workflows_execution_output", args=[execution.pk]) \
            if execution.output_file else None
        return json_block(execution.output, file_url=url, open_=True)

    def render_change_form(self, request, context, add=False, change=False, form_url="",
                           obj=None):
        if obj is not None:
            spans = list(obj.spans.all())
            rows = span_tree(spans)
            for row in rows:
                span = row.span
                url = reverse("admin:workflows_nodeexecution_output", args=[span.pk]) \
                    if span.output_file else None
                row.input_html = json_block(span.input)
                row.output_html = json_block(span.output, file_url=url)
                row.badge = badge(span)
                row.duration = duration(span.duration_ms)
                row.url = reverse("admin:workflows_nodeexecution_change", args=[span.pk])
            latest = {}
            for span in sorted(spans, key=lambda s: (s.attempt, s.pk)):
                latest[span.node_key] = span.status
            context.update({
                "run_graph": render_graph(obj.version.graph or {}, statuses=latest),
                "span_rows": rows,
                "gantt": render_gantt(spans, start=obj.started_at or obj.queued_at),
                "may_run": _may_run(request, obj),
                "finished": obj.status in FINISHED,
            })
        return super().render_change_form(request, context, add=add, change=change,
                                          form_url=form_url, obj=obj)

    # --- cancel, re-run, data files -----------------------------------------------------

    def _runnable(self, request, object_id):
        execution = self.get_object_or_404(request, object_id,
                                           self.get_queryset(request).defer(None))
        if not _may_run(request, execution):
            raise PermissionDenied
        return execution

    def _page(self, request, execution, title, **context):
        context = {**self.admin_site.each_context(request), "title": title, "opts": self.opts,
                   "original": execution, **context}
        return TemplateResponse(request, "admin/workflows/action_page.html", context)

    def cancel_view(self, request, object_id):
        execution = self._runnable(request, object_id)
        if request.method == "POST":
            try:
                cancel = service("executions", "execution_cancel")
            except Unavailable as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                done = call(self, request, f"{execution} was not cancelled", cancel,
                            execution=execution, by=request.user)
                if done is not None:
                    self.message_user(request, f"{execution}: cancel requested "
                                               f"({done.get_status_display()}).",
                                      messages.SUCCESS)
            return redirect("admin:workflows_execution_change", execution.pk)
        if execution.status in FINISHED:
            return self._page(request, execution, f"Cancel {execution}", action=None,
                              text=f"This execution has finished "
                                   f"({execution.get_status_display()}): nothing to cancel.")
        return self._page(request, execution, f"Cancel {execution}", action="Cancel execution",
                          text="Nodes not started are not run; running ones stop at their "
                               "next check. The execution ends as cancelled.")

    def rerun_view(self, request, object_id):
        execution = self._runnable(request, object_id)
        form = RerunForm(request.POST or None, execution=execution)
        if request.method == "POST" and form.is_valid():
            try:
                rerun = service("executions", "execution_rerun")
            except Unavailable as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                again = call(self, request, f"{execution} was not re-run", rerun,
                             execution=execution, from_node=form.cleaned_data["from_node"] or None,
                             current_version=form.cleaned_data["current_version"],
                             by=request.user)
                if again is not None:
                    self.message_user(request, format_html(
                        'Re-run started: <a href="{}">{}</a>.',
                        reverse("admin:workflows_execution_change", args=[again.pk]), again),
                        messages.SUCCESS)
                    return redirect("admin:workflows_execution_change", again.pk)
            return redirect("admin:workflows_execution_change", execution.pk)
        return self._page(request, execution, f"Re-run {execution}", action="Re-run",
                          form=form,
                          text="A new execution: from the start, or from one node reusing "
                               "the outputs this execution recorded before it.")

    def _file(self, field):
        if not field:
            raise Http404("This execution keeps no such file.")
        try:
            return file_download(field, JSON_TYPE)
        except OSError as exc:
            raise Http404("The file is missing from storage.") from exc

    def input_file_view(self, request, object_id):
        return self._file(self.get_object_or_404(request, object_id).input_file)

    def output_file_view(self, request, object_id):
        return self._file(self.get_object_or_404(request, object_id).output_file)


@admin.register(m.NodeExecution)
class NodeExecutionAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "node_key", "execution", "node_type", "attempt", "status_badge",
                    "duration", "started_at")
    list_display_links = ("id", "node_key")
    list_select_related = ("execution__workflow",)
    list_filter = ("status",)
    search_fields = ("node_key", "=execution__id", "=span_id")
    object_pages = {"output": ("output/", "output_file_view")}
    fieldsets = (
        (None, {"fields": ("execution", "node_key", "node_type", "node_name", "attempt",
                           "status_badge", "span_id", "parent_span_id", "output_port",
                           "idempotency_key", "reused_from", "error")}),
        ("Timing", {"fields": ("not_before", "started_at", "finished_at", "duration")}),
        ("Data", {"fields": ("input_data", "output_data")}),
    )
    readonly_fields = ("status_badge", "duration", "input_data", "output_data")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("input", "output")

    @admin.display(description="status", ordering="status")
    def status_badge(self, span):
        return badge(span)

    @admin.display(description="duration", ordering="duration_ms")
    def duration(self, span):
        return duration(span.duration_ms)

    @admin.display(description="input")
    def input_data(self, span):
        return json_block(span.input, open_=True)

    @admin.display(description="output")
    def output_data(self, span):
        url = reverse("admin:workflows_nodeexecution_output", args=[span.pk]) \
            if span.output_file else None
        return json_block(span.output, file_url=url, open_=True)

    def output_file_view(self, request, object_id):
        span = self.get_object_or_404(request, object_id)
        if not span.output_file:
            raise Http404("This span keeps its output in the row.")
        try:
            return file_download(span.output_file, JSON_TYPE)
        except OSError as exc:
            raise Http404("The file is missing from storage.") from exc


@admin.register(m.ExecutionMetric)
class ExecutionMetricAdmin(ReadOnlyModelAdmin):
    list_display = ("date", "workflow", "total", "succeeded", "failed", "cancelled",
                    "timed_out", "p50", "p95")
    list_select_related = ("workflow",)
    list_filter = ("workflow", ("date", admin.DateFieldListFilter))
    search_fields = ("workflow__name",)

    @admin.display(description="p50", ordering="p50_ms")
    def p50(self, metric):
        return duration(metric.p50_ms)

    @admin.display(description="p95", ordering="p95_ms")
    def p95(self, metric):
        return duration(metric.p95_ms)
