"""Back-office views of BI data: clients editable, inventory and sales read-only.

Import jobs are read-only records too; their "add" page is an upload form that
starts imports through the same service as the API and ``import_csv``.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers, widgets
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from analytics import models as m
from analytics.pipeline import formats
from analytics.pipeline.outcome import problem_cells, shown_progress
from analytics.services import imports
from core import tenancy
from core.admin.base import BaseModelAdmin, ReadOnlyModelAdmin
from core.admin.display import AMBER, BLUE, GREEN, GREY, RED, status_badge
from core.downloads import CSV_TYPE, file_download

Status = m.ImportJob.Status
STATUS_COLOURS = {
    Status.PENDING: GREY,
    Status.RUNNING: BLUE,
    Status.SUCCEEDED: GREEN,
    Status.FAILED: RED,
    Status.DUPLICATE: AMBER,
    Status.REPLACED: GREY,
}
ROWS_ADMIN = {m.ImportJob.Dataset.INVENTORY: "admin:analytics_inventoryrecord_changelist",
              m.ImportJob.Dataset.SALES: "admin:analytics_salerecord_changelist"}


@admin.register(m.Client)
class ClientAdmin(BaseModelAdmin):
    list_display = ("code", "name", "workspace")
    search_fields = ("name", "=code")


@admin.register(m.InventoryRecord)
class InventoryRecordAdmin(ReadOnlyModelAdmin):
    list_display = ("snapshot_date", "client", "sku", "product", "centre", "days_in_stock",
                    "stock_tonnes", "import_job")
    # Date, client and import filters only: their choices never need a scan of this table
    # (picking an import does scan it: import_job is unindexed on purpose, see the model).
    list_filter = ("snapshot_date", "client", "import_job")
    search_fields = ("sku", "batch", "product_code", "=import_job__id")


@admin.register(m.SaleRecord)
class SaleRecordAdmin(ReadOnlyModelAdmin):
    list_display = ("sale_date", "client", "sku", "product", "city", "state",
                    "net_weight_tonnes", "import_job")
    list_filter = ("sale_date", "client", "import_job")
    search_fields = ("sku", "batch", "city", "=import_job__id")


class ImportUploadForm(forms.Form):
    """Inventory and/or sales files: uploaded together they are one batch, so new
    clients are numbered across both files, as the predecessor did."""

    # Empty files reach the service, whose rule (and message) every door shares.
    inventory_file = forms.FileField(required=False, allow_empty_file=True,
                                     label="Inventory file (estoque)")
    sales_file = forms.FileField(required=False, allow_empty_file=True,
                                 label="Sales file (faturamento)")
    mode = forms.ChoiceField(
        choices=m.ImportJob.Mode.choices, initial=m.ImportJob.Mode.APPEND,
        widget=widgets.AdminRadioSelect(attrs={"class": "radiolist inline"}),
        help_text="Replace swaps out the rows of one earlier import of the dataset "
                  "(one file at a time).")
    skip_invalid = forms.BooleanField(
        required=False, label="Skip invalid lines",
        help_text=m.ImportJob._meta.get_field("skip_invalid").help_text)
    delimiter = forms.CharField(
        max_length=1, required=False, strip=False,
        help_text=m.ImportJob._meta.get_field("delimiter").help_text)
    encoding = forms.CharField(
        max_length=32, required=False,
        help_text=m.ImportJob._meta.get_field("encoding").help_text)

    FILES = {"inventory_file": m.ImportJob.Dataset.INVENTORY,
             "sales_file": m.ImportJob.Dataset.SALES}

    def __init__(self, *args, workspace: forms.Field, replaces: forms.Field, **kwargs):
        super().__init__(*args, **kwargs)
        replaces.required = False
        replaces.help_text = ("Replace only: the import to swap out (default: the latest "
                              "succeeded import of the dataset).")
        self.fields["workspace"] = workspace
        self.fields["replaces"] = replaces
        self.order_fields(["workspace", "inventory_file", "sales_file", "mode", "replaces",
                           "skip_invalid", "delimiter", "encoding"])

    def clean(self):
        cleaned = super().clean()
        if not any(cleaned.get(name) for name in self.FILES):
            raise ValidationError("Choose an inventory file, a sales file, or both.")
        return cleaned

    @property
    def uploads(self) -> dict:
        return {dataset: self.cleaned_data[name] for name, dataset in self.FILES.items()
                if self.cleaned_data.get(name)}

    def add_service_errors(self, exc: ValidationError) -> None:
        """The service's field errors, on the form's fields where they have one."""
        errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for key, messages_ in errors.items():
            if key == "file":
                targets = [n for n in self.FILES if self.cleaned_data.get(n)] or [None]
            else:
                targets = [key if key in self.fields else None]
            for target in targets:
                self.add_error(target, messages_)


@admin.register(m.ImportJob)
class ImportJobAdmin(BaseModelAdmin):
    list_display = ("id", "original_name", "dataset", "status_badge", "progress_bar",
                    "rows_imported", "rows_rejected", "workspace", "created_by", "created_at")
    list_display_links = ("id", "original_name")
    object_pages = {"progress": ("progress/", "progress_view"),
                    "errors": ("errors/", "error_report_view")}
    list_filter = ("dataset", "status")
    search_fields = ("original_name", "=checksum")
    add_form_template = "admin/analytics/importjob/upload_form.html"
    fieldsets = (
        ("Progress", {"fields": ("progress_panel", "message", "rows_total", "rows_imported",
                                 "rows_rejected", "clients_created", "rows_link",
                                 "duplicate_of", "attempts", "started_at", "heartbeat_at",
                                 "finished_at")}),
        ("Problems", {"fields": ("error_count", "error_report_link", "errors_table")}),
        ("File", {"fields": ("workspace", "dataset", "original_name", "size", "checksum",
                             "mode", "replaces", "skip_invalid", "delimiter", "encoding",
                             "created_by", "created_at")}),
    )

    # Jobs are the record of what was loaded: viewed, never edited or deleted.
    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        if not super().has_add_permission(request):
            return False
        ids = tenancy.workspace_ids(tenancy.principal_for(request), self.model, "add")
        return ids is None or bool(ids if isinstance(ids, list) else ids.exists())

    # --- changelist and detail ----------------------------------------------------------

    @admin.display(description="status", ordering="status")
    def status_badge(self, job):
        return status_badge(job.status, job.get_status_display(), STATUS_COLOURS)

    @admin.display(description="progress", ordering="progress")
    def progress_bar(self, job):
        percent = shown_progress(job)
        if percent is None:  # failed: no bar stuck where the work stopped
            return format_html('<span class="import-failed" title="{}" style="color: {}">'
                               "✗ failed</span>", job.message, STATUS_COLOURS[Status.FAILED])
        return format_html('<progress value="{}" max="100">{}%</progress> {}%',
                           percent, percent, percent)

    @admin.display(description="progress")
    def progress_panel(self, job):
        """The bar, refreshed by the page's script while the job is pending or running;
        a failed job shows why instead of a bar."""
        percent = shown_progress(job)
        if percent is None:
            return format_html(
                '<div id="import-progress" data-finished="true" class="import-failed" '
                'style="color: {}"><strong>✗ Failed:</strong> {}</div>',
                STATUS_COLOURS[Status.FAILED], job.message or "see the problems below")
        return format_html(
            '<div id="import-progress" data-url="{}" data-finished="{}">'
            '<progress value="{}" max="100">{}%</progress> '
            '<span data-role="percent">{}%</span> · <span data-role="status">{}</span></div>',
            reverse("admin:analytics_importjob_progress", args=[job.pk]),
            "true" if job.is_finished else "false",
            percent, percent, percent, self.status_badge(job))

    @admin.display(description="rows loaded")
    def rows_link(self, job):
        if not job.rows_imported:
            return "—"
        if job.dataset not in ROWS_ADMIN:  # another app's format (crm's contacts)
            route = getattr(formats.get(job.dataset), "rows_admin", "")
            if not route:
                return job.rows_imported
            return format_html('<a href="{}?workspace__id__exact={}">{} {} rows loaded</a>',
                               reverse(route), job.workspace_id, job.rows_imported,
                               job.dataset)
        url = reverse(ROWS_ADMIN[job.dataset])
        return format_html('<a href="{}?import_job__id__exact={}">View the {} {} rows</a>',
                           url, job.pk, job.rows_imported, job.dataset)

    @admin.display(description="error report")
    def error_report_link(self, job):
        if not job.error_report:
            return "—"
        return format_html('<a href="{}">Download the full report (CSV, {} problem{})</a>',
                           reverse("admin:analytics_importjob_errors", args=[job.pk]),
                           job.error_count, pluralize(job.error_count))

    @admin.display(description="first problems")
    def errors_table(self, job):
        if not job.errors_preview:
            return "—"
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            (problem_cells(error) for error in job.errors_preview))
        more = job.error_count - len(job.errors_preview)
        return format_html(
            '<table><thead><tr><th>line</th><th>column</th><th>value</th><th>reason</th>'
            "</tr></thead><tbody>{}</tbody></table>{}", rows,
            format_html("<p>… and {} more in the report.</p>", more) if more > 0 else "")

    # --- JSON progress and the error report ---------------------------------------------

    def progress_view(self, request, object_id):
        job = self.get_object_or_404(request, object_id)
        return JsonResponse({
            "id": job.pk, "status": job.status, "status_display": job.get_status_display(),
            "finished": job.is_finished, "progress": shown_progress(job),
            "message": job.message,
            "rows_total": job.rows_total, "rows_imported": job.rows_imported,
            "rows_rejected": job.rows_rejected, "error_count": job.error_count,
        })

    def error_report_view(self, request, object_id):
        job = self.get_object_or_404(request, object_id)
        if not job.error_report:
            raise Http404("This import has no error report.")
        try:
            return file_download(job.error_report, CSV_TYPE, filename=job.error_report_name)
        except OSError as exc:
            raise Http404("The error report is missing from storage.") from exc

    # --- the upload form (the "add" page) -----------------------------------------------

    def upload_form(self, request) -> ImportUploadForm:
        def field(name):  # the base admin's pickers: tenancy-scoped, autocomplete
            return self.formfield_for_foreignkey(self.opts.get_field(name), request)

        bound = request.method == "POST"
        return ImportUploadForm(request.POST if bound else None,
                                request.FILES if bound else None,
                                workspace=field("workspace"), replaces=field("replaces"))

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = self.upload_form(request)
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            try:
                jobs = imports.import_jobs_create(
                    workspace=data["workspace"], uploads=form.uploads, by=request.user,
                    mode=data["mode"], replaces=data.get("replaces"),
                    skip_invalid=data["skip_invalid"], delimiter=data["delimiter"],
                    encoding=data["encoding"])
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                self._report_started(request, jobs)
                return redirect("admin:analytics_importjob_changelist")
        adminform = helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {},
                                      model_admin=self)
        context = {
            **self.admin_site.each_context(request),
            "title": "Upload BI files",
            "subtitle": None,
            "adminform": adminform,
            "object_id": None,
            "original": None,
            "is_popup": False,
            "to_field": None,
            "media": self.media + adminform.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        return self.render_change_form(request, context, add=True, form_url=form_url)

    def _report_started(self, request, jobs: list[m.ImportJob]) -> None:
        for job in jobs:
            link = format_html('<a href="{}">{}</a>',
                               reverse("admin:analytics_importjob_change", args=[job.pk]), job)
            if job.status == Status.DUPLICATE:
                self.message_user(request, format_html("{}: {}", link, job.message),
                                  messages.WARNING)
            else:
                self.message_user(request, format_html(
                    "{} is queued; its page shows the progress.", link), messages.SUCCESS)
