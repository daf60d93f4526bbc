"""Back office of reports: definitions with their schedule, runs with their page, deliveries.

Writes go through ``reports.services`` as in the API: saving a definition keeps
its django-celery-beat entry in step; "run now" and "resend" queue the same
tasks beat does.
"""

from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from core import tenancy
from core.admin.base import BaseModelAdmin, ReadOnlyModelAdmin
from core.admin.display import AMBER, BLUE, GREEN, GREY, RED, status_badge
from core.downloads import XLSX_TYPE, ZIP_TYPE, file_download

from . import kinds
from . import models as m
from .downloads import page_response
from .parameters import parameters_resolve
from .rendering.html import parameter_items, render_html
from .services import definitions, deliveries, runs

RunStatus, DeliveryStatus = m.ReportRun.Status, m.ReportDelivery.Status
COLOURS = {
    RunStatus.PENDING: GREY, RunStatus.RUNNING: BLUE,
    RunStatus.SUCCEEDED: GREEN, RunStatus.SKIPPED: AMBER, RunStatus.FAILED: RED,
    DeliveryStatus.SENDING: BLUE, DeliveryStatus.SENT: GREEN,
}
RECENT_RUNS = 10
SKIP_REASONS = {deliveries.OPTED_OUT: "opted out of report emails",
                deliveries.INACTIVE: "account inactive", deliveries.NO_EMAIL: "no email address",
                deliveries.NOT_MEMBER: "no longer a member of the workspace"}


def badge(obj):
    return status_badge(obj.status, obj.get_status_display(), COLOURS)


def _may_change(request, definition) -> bool:
    return tenancy.can(tenancy.principal_for(request), definition, "change")


# --- definitions ---------------------------------------------------------------------------


class ReportDefinitionForm(forms.ModelForm):
    class Meta:
        model = m.ReportDefinition
        fields = ("workspace", "name", "description", "kind", "parameters", "recipients",
                  "output_csv", "output_xlsx", "skip_when_empty", "owner", "schedule_cron",
                  "schedule_timezone", "enabled")

    def clean(self):
        cleaned = super().clean()
        workspace = cleaned.get("workspace") or getattr(self.instance, "workspace", None)
        if workspace is not None and cleaned.get("recipients") is not None:
            try:
                definitions.recipients_check(workspace=workspace, users=cleaned["recipients"])
            except ValidationError as exc:
                self.add_error("recipients", exc.message_dict["recipients"])
        return cleaned


@admin.register(m.ReportDefinition)
class ReportDefinitionAdmin(BaseModelAdmin):
    form = ReportDefinitionForm
    list_display = ("name", "workspace", "kind", "schedule", "enabled", "next_run", "owner",
                    "updated_at")
    list_filter = ("kind", "enabled")
    search_fields = ("name",)
    readonly_fields = ("next_run", "beat_entry", "recent_runs")
    actions = ["run_now", "preview_parameters"]
    change_form_template = "admin/reports/reportdefinition/change_form.html"
    object_pages = {"preview": ("preview/", "preview_view")}
    fieldsets = (
        (None, {"fields": ("workspace", "name", "description", "kind", "parameters")}),
        ("Delivery", {"fields": ("recipients", "output_csv", "output_xlsx", "skip_when_empty",
                                 "owner")}),
        ("Schedule", {"fields": ("schedule_cron", "schedule_timezone", "enabled", "next_run",
                                 "beat_entry")}),
        ("Run history", {"fields": ("recent_runs",)}),
    )

    def get_autocomplete_fields(self, request):
        return [*super().get_autocomplete_fields(request), "recipients"]

    def save_model(self, request, obj, form, change):
        # Recipients are set by save_related (form.save_m2m), checked by the form's clean.
        definitions.definition_save(obj, by=request.user)

    @admin.display(description="schedule")
    def schedule(self, definition):
        if not definition.schedule_cron:
            return "on demand"
        return f"{definition.schedule_cron} ({definition.schedule_timezone})"

    @admin.display(description="next run")
    def next_run(self, definition):
        moment = definition.next_run_at()
        if moment is None:
            return "—" if definition.schedule_cron else "on demand"
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")

    @admin.display(description="beat entry")
    def beat_entry(self, definition):
        if not definition.periodic_task_id:
            return "—"
        url = reverse("admin:django_celery_beat_periodictask_change",
                      args=[definition.periodic_task_id])
        return format_html('<a href="{}">{}</a> (kept in step with the fields above)', url,
                           definition.periodic_task)

    @admin.display(description="recent runs")
    def recent_runs(self, definition):
        if definition.pk is None:
            return "—"
        recent = list(definition.runs.defer("html", "email_html").annotate(
            sent=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.SENT)),
            total=Count("deliveries"))[:RECENT_RUNS])
        if not recent:
            return "No runs yet."
        rows = format_html_join("", "<tr><td><a href=\"{}\">#{}</a></td><td>{}</td><td>{}</td>"
                                    "<td>{}</td><td>{}</td><td>{}</td><td>{} of {}</td></tr>",
                                ((reverse("admin:reports_reportrun_change", args=[run.pk]),
                                  run.pk, badge(run), run.get_trigger_display(),
                                  _when(run.slot), _when(run.finished_at), run.row_count,
                                  run.sent, run.total) for run in recent))
        every = reverse("admin:reports_reportrun_changelist") + \
            f"?definition__id__exact={definition.pk}"
        return format_html(
            "<table><thead><tr><th>run</th><th>status</th><th>trigger</th><th>slot</th>"
            "<th>finished</th><th>rows</th><th>sent</th></tr></thead><tbody>{}</tbody>"
            '</table><p><a href="{}">All runs of this report</a></p>', rows, every)

    @admin.action(description="Run now (build and send to the recipients)",
                  permissions=["change"])
    def run_now(self, request, queryset):
        started = []
        for definition in queryset:
            if not _may_change(request, definition):
                self.message_user(request, f"Not allowed to run {definition}.", messages.ERROR)
                continue
            started.append(runs.run_request(definition, trigger=m.ReportRun.Trigger.MANUAL,
                                            by=request.user))
        if started:
            links = format_html_join(", ", '<a href="{}">{}</a>', (
                (reverse("admin:reports_reportrun_change", args=[run.pk]), run)
                for run in started))
            self.message_user(request, format_html("Queued: {}.", links), messages.SUCCESS)

    @admin.action(description="Preview parameters (as a run now and at the next run)",
                  permissions=["view"])
    def preview_parameters(self, request, queryset):
        rows = []
        for definition in queryset:
            tz = ZoneInfo(definition.schedule_timezone or "UTC")
            next_at = definition.next_run_at()
            rows.append({
                "definition": definition,
                "next_run": next_at,
                "recipients": list(definition.recipients.all()),
                "now": _resolved(definition, timezone.now().astimezone(tz).date()),
                "next": _resolved(definition, next_at.astimezone(tz).date())
                if next_at else None,
            })
        context = {**self.admin_site.each_context(request), "title": "Preview parameters",
                   "opts": self.opts, "rows": rows}
        return TemplateResponse(request, "admin/reports/reportdefinition/preview_parameters.html",
                                context)

    def preview_view(self, request, object_id):
        """The report as it would be built now: not stored, not sent."""
        definition = self.get_object_or_404(request, object_id)
        try:
            params = parameters_resolve(definition.parameters, timezone.localdate())
            page = render_html(kinds.build(definition.kind, definition.workspace_id, params),
                               title=f"{definition.name} (preview)")
        except (TypeError, ValueError, ArithmeticError) as exc:
            page, error = "", str(exc)
        else:
            error = ""
        context = {**self.admin_site.each_context(request),
                   "title": f"Preview: {definition.name}", "opts": self.opts,
                   "original": definition, "page": page, "error": error,
                   "note": "Built now from the current data; not stored and not sent."}
        return TemplateResponse(request, "admin/reports/report_page.html", context)


def _resolved(definition, day):
    try:
        return parameter_items(parameters_resolve(definition.parameters, day))
    except (TypeError, ValueError, ArithmeticError) as exc:
        return [("Error", str(exc))]


def _delivery_note(delivery) -> str:
    if delivery.overrode_opt_out:
        who = delivery.requested_by or "staff"
        return f"Sent by hand by {who} although the recipient opted out. {delivery.error}"
    return delivery.error or ""


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


# --- runs ----------------------------------------------------------------------------------


class SendToForm(forms.Form):
    user = forms.ModelChoiceField(queryset=None, label="Send to",
                                  help_text="A member of the report's workspace.")
    override_opt_out = forms.BooleanField(
        required=False, label="Send even if they opted out",
        help_text="Members who turned report emails off get this run only when ticked; "
                  "the delivery records that you overrode their choice.")

    def __init__(self, *args, run, **kwargs):
        super().__init__(*args, **kwargs)
        from workspaces.queries import active_member_users

        self.fields["user"].queryset = active_member_users(run.workspace_id)


@admin.register(m.ReportRun)
class ReportRunAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "definition", "workspace", "status_badge", "trigger", "slot",
                    "started_at", "finished_at", "row_count", "sent")
    list_display_links = ("id", "definition")
    object_pages = {"report": ("report/", "report_view"), "page": ("report/page/", "page_view"),
                    "csv": ("csv/", "csv_view"), "xlsx": ("xlsx/", "xlsx_view"),
                    "send": ("send/", "send_view")}
    list_filter = ("status", "trigger")
    search_fields = ("definition__name", "=id")
    change_form_template = "admin/reports/reportrun/change_form.html"
    fieldsets = (
        ("Run", {"fields": ("definition", "workspace", "status_badge", "trigger", "slot",
                            "requested_by", "attempts", "started_at", "finished_at",
                            "row_count", "error", "failure_notified_at")}),
        ("Report", {"fields": ("report_links", "parameters_table")}),
        ("Deliveries", {"fields": ("deliveries_table", "delivered_to", "skipped_table")}),
    )
    readonly_fields = ("status_badge", "report_links", "parameters_table", "deliveries_table",
                       "skipped_table")

    def get_queryset(self, request):
        queryset = super().get_queryset(request).defer("html", "email_html")
        return queryset.annotate(
            sent_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.SENT)),
            delivery_count=Count("deliveries"))

    @admin.display(description="status", ordering="status")
    def status_badge(self, run):
        return badge(run)

    @admin.display(description="sent")
    def sent(self, run):
        return f"{run.sent_count} of {run.delivery_count}"

    @admin.display(description="report")
    def report_links(self, run):
        links = []
        if run.status in (RunStatus.SUCCEEDED, RunStatus.SKIPPED):
            links.append((reverse("admin:reports_reportrun_report", args=[run.pk]),
                          "View the report"))
        if run.csv_file:
            links.append((reverse("admin:reports_reportrun_csv", args=[run.pk]), "CSV (ZIP)"))
        if run.xlsx_file:
            links.append((reverse("admin:reports_reportrun_xlsx", args=[run.pk]), "XLSX"))
        if not links:
            return "Not built yet." if not run.is_finished else "—"
        return format_html_join(" · ", '<a href="{}">{}</a>', links)

    @admin.display(description="parameters used")
    def parameters_table(self, run):
        from .data import ReportParameters

        try:
            items = parameter_items(ReportParameters.from_dict(run.parameters))
        except (TypeError, ValueError, ArithmeticError):
            return "—"
        return format_html("<table>{}</table>", format_html_join(
            "", "<tr><th>{}</th><td>{}</td></tr>", items))

    @admin.display(description="deliveries")
    def deliveries_table(self, run):
        rows = list(run.deliveries.select_related("requested_by"))
        if not rows:
            return "None."
        return format_html(
            "<table><thead><tr><th>to</th><th>status</th><th>attempts</th><th>sent</th>"
            "<th>error</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join("", '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td>'
                                 "<td>{}</td><td>{}</td></tr>",
                             ((reverse("admin:reports_reportdelivery_change", args=[d.pk]),
                               d.address, badge(d), d.attempts, _when(d.sent_at),
                               _delivery_note(d)) for d in rows)))

    @admin.display(description="not sent to")
    def skipped_table(self, run):
        if not run.skipped_recipients:
            return "Nobody: every recipient was sent the report." if run.is_finished else "—"
        return format_html(
            "<table><thead><tr><th>recipient</th><th>reason</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td></tr>",
                             ((entry.get("email") or f"user #{entry.get('user')}",
                               SKIP_REASONS.get(entry.get("reason"), entry.get("reason")))
                              for entry in run.skipped_recipients)))

    # --- the report page and files ----------------------------------------------------------

    def _run(self, request, object_id, *, full: bool = False) -> m.ReportRun:
        queryset = self.get_queryset(request)
        return self.get_object_or_404(request, object_id,
                                      queryset.defer(None) if full else queryset)

    def report_view(self, request, object_id):
        run = self._run(request, object_id, full=True)
        if not run.html:
            raise Http404("This run has no report page.")
        context = {**self.admin_site.each_context(request),
                   "title": f"{run.definition.name}: run #{run.pk}", "opts": self.opts,
                   "original": run, "page": run.html, "run": run,
                   "page_url": reverse("admin:reports_reportrun_page", args=[run.pk])}
        return TemplateResponse(request, "admin/reports/report_page.html", context)

    def page_view(self, request, object_id):
        run = self._run(request, object_id, full=True)
        if not run.html:
            raise Http404("This run has no report page.")
        return page_response(run.html, f"report-{run.pk}.html")

    def _download(self, field, content_type):
        if not field:
            raise Http404("This run has no such file.")
        try:
            return file_download(field, content_type)
        except OSError as exc:
            raise Http404("The file is missing from storage.") from exc

    def csv_view(self, request, object_id):
        return self._download(self._run(request, object_id).csv_file, ZIP_TYPE)

    def xlsx_view(self, request, object_id):
        return self._download(self._run(request, object_id).xlsx_file, XLSX_TYPE)

    def send_view(self, request, object_id):
        """Send this run to one member: someone added later, or again."""
        run = self._run(request, object_id)
        if not _may_change(request, run.definition):
            raise PermissionDenied
        form = SendToForm(request.POST or None, run=run)
        if request.method == "POST" and form.is_valid():
            try:
                delivery = deliveries.run_send_to(
                    run, form.cleaned_data["user"], by=request.user,
                    override_opt_out=form.cleaned_data["override_opt_out"])
            except ValidationError as exc:
                errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
                for field, messages_ in errors.items():
                    form.add_error(field if field in form.fields else None, messages_)
            else:
                note = (" They opted out of report emails; sent anyway because you asked "
                        "(recorded on the delivery).") if delivery.overrode_opt_out else ""
                self.message_user(request, f"Queued: {delivery}.{note}", messages.SUCCESS)
                return redirect("admin:reports_reportrun_change", run.pk)
        context = {**self.admin_site.each_context(request),
                   "title": f"Send run #{run.pk} to a member", "opts": self.opts,
                   "original": run, "form": form}
        return TemplateResponse(request, "admin/reports/reportrun/send.html", context)


# --- deliveries ----------------------------------------------------------------------------


@admin.register(m.ReportDelivery)
class ReportDeliveryAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "run", "address", "channel", "status_badge", "attempts",
                    "last_attempt_at", "sent_at", "short_error")
    list_filter = ("status", "channel")
    search_fields = ("address", "=run__id")
    actions = ["resend"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("run__definition").defer(
            "run__html", "run__email_html")

    @admin.display(description="status", ordering="status")
    def status_badge(self, delivery):
        return badge(delivery)

    @admin.display(description="error")
    def short_error(self, delivery):
        return (delivery.error[:80] + "…") if len(delivery.error) > 80 else delivery.error

    def has_resend_permission(self, request) -> bool:
        return self.has_view_permission(request)

    @admin.action(description="Send the selected deliveries again", permissions=["resend"])
    def resend(self, request, queryset):
        queued = 0
        for delivery in queryset.select_related("run__definition"):
            if delivery.run.status != RunStatus.SUCCEEDED or \
                    not _may_change(request, delivery.run.definition):
                self.message_user(request, f"Cannot resend {delivery}.", messages.ERROR)
                continue
            deliveries.delivery_resend(delivery)
            queued += 1
        if queued:
            self.message_user(request, f"Queued {queued} deliveries again.", messages.SUCCESS)
