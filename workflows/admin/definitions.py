"""Back office of workflow definitions: the workflow with its graph, versions, deployments,
shares, triggers, and the nodes and connections on their own.

The workflow's page edits the draft graph inline (nodes, then connections between the
workflow's own nodes), draws it (``workflows.rendering.graph_svg``) and lists its
validation problems; its own pages publish, deploy, run and export it, and the import
page creates one from JSON.  Every write with a rule goes through the services.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import slugify

from core import tenancy
from core.admin.base import BaseModelAdmin, ReadOnlyModelAdmin
from core.admin.services import adopt
from core.downloads import content_disposition

from .. import models as m
from ..rendering.graph_svg import render_graph
from ..rendering.spans import pretty_json
from ..snapshot import graph_snapshot
from .common import REFUSALS, Unavailable, badge, call, error_text, log, service

IMPORT_MAX_BYTES = 2 * 1024 * 1024
JSON_WIDGET = {"widget": forms.Textarea(attrs={"rows": 2, "cols": 28})}
SETTINGS_FIELDS = ("project", "name", "description", "status", "execution_timeout",
                   "retry_policy", "concurrency_limit", "timezone", "metadata", "input_schema")


def graph_problems(graph: dict) -> list[dict]:
    """``workflows.graph.graph_problems`` when installed; nothing until then."""
    try:
        from workflows.graph import graph_problems as problems
    except ImportError:
        return []
    try:
        return list(problems(graph))
    except Exception:  # a validator bug must not take the page down; it is logged
        log.exception("graph_problems failed")
        return [{"node": None, "field": None,
                 "message": "The graph could not be validated (the error is logged)."}]


def problems_table(problems: list[dict]):
    if not problems:
        return format_html('<p class="wf-ok">{}</p>', "No problems: the graph can be published.")
    return format_html(
        '<table class="wf-problems"><thead><tr><th>node</th><th>field</th><th>problem</th>'
        "</tr></thead><tbody>{}</tbody></table>",
        format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                         ((p.get("node") or "(workflow)", p.get("field") or "—",
                           p.get("message", "")) for p in problems)))


def node_type_choices(current: str = "") -> list[tuple[str, str]]:
    from workflows.nodes import registry

    choices = [(t.key, f"{t.name} ({t.key})") for t in registry.all_types()]
    if current and current not in {key for key, _ in choices}:
        choices.append((current, f"{current} (unknown type)"))
    return choices


# --- the workflow and its draft graph -----------------------------------------------------


class SameWorkflowFormSet(BaseInlineFormSet):
    """Inline rows take their workspace from the workflow they belong to."""

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        if self.instance.workspace_id and not form.instance.workspace_id:
            form.instance.workspace_id = self.instance.workspace_id
        return form

    def save_new(self, form, commit=True):
        form.instance.workspace_id = self.instance.workspace_id
        return super().save_new(form, commit=commit)


def add_service_errors(form, exc: ValidationError) -> None:
    """A service's field errors on the form's fields where it has them, else on the form."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for field, problems in errors.items():
        if field in form.fields:
            form.add_error(field, problems)
        else:
            form.add_error(None, [p if field in (None, "__all__") else f"{field}: {p}"
                                  for p in problems])


class DryRunForm(forms.ModelForm):
    """A row the admin saves through a service: ``clean`` runs that service in a savepoint
    rolled back at once (a dry run), so a refusal shows on the row's fields instead of
    failing the save.  Subclasses say which fields go to the service and how it is called.
    """

    service_fields: tuple[str, ...] = ()

    def dry_run(self, fields: dict) -> None:
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        if self.errors or cleaned.get("DELETE") or (self.instance.pk and not self.has_changed()):
            return cleaned
        fields = {name: cleaned[name] for name in self.service_fields if name in cleaned}
        try:
            with transaction.atomic():
                self.dry_run(fields)
                transaction.set_rollback(True)
        except Unavailable:
            pass
        except ValidationError as exc:
            add_service_errors(self, exc)
        return cleaned


NODE_FIELDS = ("key", "name", "type", "config", "position_x", "position_y", "retry_policy",
               "timeout", "continue_on_fail", "disabled")
CONNECTION_FIELDS = ("source", "source_output", "target", "target_input")


class NodeInlineForm(DryRunForm):
    type = forms.ChoiceField(choices=())
    service_fields = NODE_FIELDS

    def dry_run(self, fields):
        if self.instance.pk:
            service("definitions", "node_update")(m.Node.objects.get(pk=self.instance.pk),
                                                  **fields)
        elif self.instance.workflow_id:  # a new workflow's nodes are checked when saved
            service("definitions", "node_create")(workflow=self.instance.workflow, **fields)

    class Meta:
        model = m.Node
        fields = NODE_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = node_type_choices(self.instance.type or "")


class NodeInline(admin.TabularInline):
    model = m.Node
    form = NodeInlineForm
    formset = SameWorkflowFormSet
    extra = 0
    formfield_overrides = {models.JSONField: JSON_WIDGET}
    fields = NodeInlineForm.Meta.fields
    verbose_name_plural = "nodes (the draft graph)"


class NodeChoiceField(forms.ModelChoiceField):
    """A node picker whose choices were read once for the whole formset (no query per row)."""

    cached: list[tuple[int, str]] | None = None

    def _get_choices(self):
        if self.cached is None:
            return super()._get_choices()
        return [("", self.empty_label), *self.cached]

    choices = property(_get_choices, forms.ChoiceField.choices.fset)


class ConnectionInlineForm(DryRunForm):
    service_fields = CONNECTION_FIELDS

    class Meta:
        model = m.Connection
        fields = CONNECTION_FIELDS

    def dry_run(self, fields):
        if self.instance.pk:
            service("definitions", "connection_update")(
                m.Connection.objects.get(pk=self.instance.pk), **fields)
        elif self.instance.workflow_id:
            service("definitions", "connection_create")(workflow=self.instance.workflow,
                                                        **fields)


class ConnectionInline(admin.TabularInline):
    model = m.Connection
    form = ConnectionInlineForm
    formset = SameWorkflowFormSet
    fk_name = "workflow"
    extra = 1
    fields = CONNECTION_FIELDS
    verbose_name_plural = "connections (source output → target input)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("source", "target")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        nodes = obj.nodes.all() if obj is not None and obj.pk else m.Node.objects.none()
        cached = [(node.pk, node.key) for node in nodes.only("pk", "key")]
        for name in ("source", "target"):
            old = formset.form.base_fields[name]
            field = NodeChoiceField(queryset=nodes, required=old.required, label=old.label,
                                    help_text="Nodes of this workflow (save new nodes first).")
            field.cached = cached
            formset.form.base_fields[name] = field
        return formset


class WorkflowForm(forms.ModelForm):
    class Meta:
        model = m.Workflow
        fields = ("workspace", *SETTINGS_FIELDS, "tags")


class ImportForm(forms.Form):
    file = forms.FileField(required=False, help_text="A file from “Export JSON”.")
    text = forms.CharField(required=False, label="or paste the JSON",
                           widget=forms.Textarea(attrs={"rows": 12, "cols": 90}))
    name = forms.CharField(required=False, max_length=120,
                           help_text="Blank: the name in the file.")

    def __init__(self, *args, workspace: forms.Field, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workspace"] = workspace
        self.order_fields(["workspace", "file", "text", "name"])

    def clean(self):
        cleaned = super().clean()
        upload, text = cleaned.get("file"), (cleaned.get("text") or "").strip()
        if upload and text:
            raise ValidationError("Choose a file or paste the JSON, not both.")
        if upload:
            if upload.size > IMPORT_MAX_BYTES:
                raise ValidationError({"file": f"The file is larger than "
                                               f"{IMPORT_MAX_BYTES // 1024} KiB."})
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ValidationError({"file": "The file is not UTF-8 text."}) from None
        if not text:
            raise ValidationError("Choose a file or paste the exported JSON.")
        where = "file" if upload else "text"
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError({where: f"This is not valid JSON: {exc.msg} (line "
                                          f"{exc.lineno}, column {exc.colno})."}) from None
        if not isinstance(data, dict):
            raise ValidationError({where: "The JSON must be an object, as “Export JSON” "
                                          "writes it."})
        cleaned["data"] = data
        return cleaned

    def add_service_errors(self, exc: Exception) -> None:
        if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
            for field, problems in exc.message_dict.items():
                target = field if field in ("name", "workspace") else None
                self.add_error(target, problems if target else
                               [f"{field}: {p}" if field != "__all__" else p for p in problems])
        else:
            self.add_error(None, error_text(exc))


class RunForm(forms.Form):
    input = forms.JSONField(required=False, initial=dict,
                            widget=forms.Textarea(attrs={"rows": 10, "cols": 80}),
                            help_text="The execution's input (JSON), checked against the "
                                      "workflow's input schema.")


@admin.register(m.Workflow)
class WorkflowAdmin(BaseModelAdmin):
    form = WorkflowForm
    list_display = ("name", "workspace", "status_badge", "version", "project", "updated_at")
    list_filter = ("status",)
    search_fields = ("name",)
    readonly_fields = ("version", "graph_picture", "problems", "recent_executions")
    inlines = [NodeInline, ConnectionInline]
    actions = ["publish", "deploy_latest", "run_now"]
    change_form_template = "admin/workflows/workflow/change_form.html"
    change_list_template = "admin/workflows/workflow/change_list.html"
    formfield_overrides = {models.JSONField: {"widget": forms.Textarea(
        attrs={"rows": 3, "cols": 60, "class": "vLargeTextField"})}}
    object_pages = {"export": ("export/", "export_view"),
                    "publish": ("publish/", "publish_view"),
                    "deploy": ("deploy/", "deploy_view"),
                    "run": ("run/", "run_view")}

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": ("workspace", "project", "name", "description", "status",
                               "version", "tags")}),
            ("Execution settings", {"fields": ("execution_timeout", "retry_policy",
                                               "concurrency_limit", "timezone",
                                               "input_schema", "metadata")}),
        ]
        if obj is not None:
            fieldsets += [("Graph", {"fields": ("graph_picture", "problems")}),
                          ("Runs", {"fields": ("recent_executions",)})]
        return fieldsets

    def get_autocomplete_fields(self, request):
        return [*super().get_autocomplete_fields(request), "tags"] \
            if self._searchable(m.Workflow.tags.field.related_model) \
            else super().get_autocomplete_fields(request)

    def get_urls(self):
        own = [path("import/", self.admin_site.admin_view(self.import_view),
                    name="workflows_workflow_import")]
        return [*own, *super().get_urls()]

    @admin.display(description="status", ordering="status")
    def status_badge(self, workflow):
        return badge(workflow)

    @admin.display(description="picture")
    def graph_picture(self, workflow):
        if workflow.pk is None:
            return "—"
        snapshot = graph_snapshot(workflow)
        return format_html('<div class="wf-graph-frame">{}</div>',
                           render_graph(snapshot, problems=self._problems(workflow, snapshot)))

    @admin.display(description="validation")
    def problems(self, workflow):
        if workflow.pk is None:
            return "—"
        return problems_table(self._problems(workflow, graph_snapshot(workflow)))

    def _problems(self, workflow, snapshot):
        # Drawn and listed on one page: validate the draft once per request.
        cache = workflow.__dict__.setdefault("_admin_problems", {})
        key = json.dumps(snapshot, sort_keys=True, default=str)
        if key not in cache:
            cache[key] = graph_problems(snapshot)
        return cache[key]

    @admin.display(description="recent executions")
    def recent_executions(self, workflow):
        if workflow.pk is None:
            return "—"
        recent = list(workflow.executions.order_by("-queued_at", "-id")
                      .only("id", "status", "source", "queued_at", "duration_ms")[:10])
        if not recent:
            return "No executions yet."
        every = reverse("admin:workflows_execution_changelist") + \
            f"?workflow__id__exact={workflow.pk}"
        return format_html(
            "<table><thead><tr><th>execution</th><th>status</th><th>source</th><th>queued</th>"
            '</tr></thead><tbody>{}</tbody></table><p><a href="{}">All executions</a></p>',
            format_html_join("", '<tr><td><a href="{}">#{}</a></td><td>{}</td><td>{}</td>'
                                 "<td>{}</td></tr>",
                             ((reverse("admin:workflows_execution_change", args=[e.pk]), e.pk,
                               badge(e), e.get_source_display(),
                               e.queued_at.strftime("%Y-%m-%d %H:%M:%S")) for e in recent)),
            every)

    # --- saving through the services -------------------------------------------------------

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in SETTINGS_FIELDS
                  if name in form.cleaned_data}
        try:
            if change:
                update = service("definitions", "workflow_update")
            else:
                create = service("definitions", "workflow_create")
        except Unavailable:  # before the definitions service exists: the model's own rules
            obj.save()
            return
        if change:
            update(obj, **{name: fields[name] for name in form.changed_data if name in fields})
        else:
            adopt(obj, create(workspace=obj.workspace, by=request.user, **fields))

    def save_formset(self, request, form, formset, change):
        """Nodes and connections through the definition services, in the inlines' order."""
        names = {m.Node: ("node", NODE_FIELDS), m.Connection: ("connection", CONNECTION_FIELDS)}
        if formset.model not in names:
            return super().save_formset(request, form, formset, change)
        kind, fields = names[formset.model]
        try:
            create, update, delete = (service("definitions", f"{kind}_{verb}")
                                      for verb in ("create", "update", "delete"))
        except Unavailable:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)
        for obj in formset.deleted_objects:
            delete(obj)
        for obj, _changed in formset.changed_objects:
            update(obj)  # the form set the fields; the service checks and saves
        for obj in formset.new_objects:
            adopt(obj, create(workflow=form.instance, by=request.user,
                              **{name: getattr(obj, name) for name in fields}))
        formset.save_m2m()
        return None

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return refusals_as_messages(self, request, super().changeform_view, object_id,
                                    form_url, extra_context)

    def delete_model(self, request, obj):
        try:
            service("definitions", "workflow_delete")(obj)
        except Unavailable:
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for workflow in queryset:
            self.delete_model(request, workflow)

    # --- changelist actions ----------------------------------------------------------------

    def _allowed(self, request, workflows):
        for workflow in workflows:
            if self.has_change_permission(request, workflow):
                yield workflow
            else:
                self.message_user(request, f"Not allowed to change {workflow}.", messages.ERROR)

    @admin.action(description="Publish (freeze the draft into a new version)",
                  permissions=["change"])
    def publish(self, request, queryset):
        for workflow in self._allowed(request, queryset):
            self._publish(request, workflow)

    @admin.action(description="Deploy latest version (to production)", permissions=["change"])
    def deploy_latest(self, request, queryset):
        for workflow in self._allowed(request, queryset):
            self._deploy(request, workflow)

    @admin.action(description="Run now (empty input)", permissions=["change"])
    def run_now(self, request, queryset):
        for workflow in self._allowed(request, queryset):
            self._run(request, workflow, None)

    def _publish(self, request, workflow, note: str = ""):
        try:
            publish = service("definitions", "workflow_publish")
        except Unavailable as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        version = call(self, request, f"{workflow} was not published", publish,
                       workflow=workflow, by=request.user, note=note)
        if version is not None:
            self.message_user(request, format_html(
                'Published {}: <a href="{}">version {}</a>.', workflow,
                reverse("admin:workflows_workflowversion_change", args=[version.pk]),
                version.number), messages.SUCCESS)
        return version

    def _deploy(self, request, workflow):
        try:
            deploy = service("definitions", "workflow_deploy")
        except Unavailable as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        deployment = call(self, request, f"{workflow} was not deployed", deploy,
                          workflow=workflow, by=request.user)
        if deployment is not None:
            self.message_user(request, f"Deployed {deployment}.", messages.SUCCESS)
        return deployment

    def _run(self, request, workflow, data):
        try:
            start = service("executions", "execution_start")
        except Unavailable as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        execution = call(self, request, f"{workflow} was not started", start,
                         workflow=workflow, input=data, source="manual", by=request.user)
        if execution is not None:
            again = "" if getattr(execution, "created_now", True) else " (already started)"
            self.message_user(request, format_html(
                'Started <a href="{}">{}</a>{}.',
                reverse("admin:workflows_execution_change", args=[execution.pk]), execution,
                again), messages.SUCCESS)
        return execution

    # --- the workflow's own pages ----------------------------------------------------------

    def _changeable(self, request, object_id):
        workflow = self.get_object_or_404(request, object_id)
        if not self.has_change_permission(request, workflow):
            raise PermissionDenied
        return workflow

    def _page(self, request, workflow, title, template="admin/workflows/action_page.html",
              **context):
        context = {**self.admin_site.each_context(request), "title": title, "opts": self.opts,
                   "original": workflow, **context}
        return TemplateResponse(request, template, context)

    def export_view(self, request, object_id):
        workflow = self.get_object_or_404(request, object_id)
        try:
            data = service("definitions", "workflow_export")(workflow)
        except Unavailable as exc:
            raise Http404(str(exc)) from exc
        response = HttpResponse(json.dumps(data, indent=2, ensure_ascii=False, default=str),
                                content_type="application/json; charset=utf-8")
        name = slugify(workflow.name) or f"workflow-{workflow.pk}"
        response["Content-Disposition"] = content_disposition(f"{name}.workflow.json")
        return response

    def publish_view(self, request, object_id):
        workflow = self._changeable(request, object_id)
        if request.method == "POST":
            self._publish(request, workflow, note=request.POST.get("note", "")[:300])
            return redirect("admin:workflows_workflow_change", workflow.pk)
        problems = graph_problems(graph_snapshot(workflow))
        text = (f"Freezes the draft graph and settings into version {workflow.version + 1}. "
                "Running executions keep their version.")
        if problems:
            text = "The draft cannot be published until these problems are fixed."
        return self._page(request, workflow, f"Publish {workflow}",
                          action=None if problems else "Publish", note_field=True,
                          problems=problems_table(problems), text=text)

    def deploy_view(self, request, object_id):
        workflow = self._changeable(request, object_id)
        if request.method == "POST":
            self._deploy(request, workflow)
            return redirect("admin:workflows_workflow_change", workflow.pk)
        latest = workflow.versions.order_by("-number").first()
        text = (f"Makes version {latest.number} live in production: webhook, schedule and "
                f"event triggers start it from now on." if latest else
                "This workflow has no published version yet: publish it first.")
        return self._page(request, workflow, f"Deploy {workflow}", action="Deploy" if latest
                          else None, text=text)

    def run_view(self, request, object_id):
        workflow = self._changeable(request, object_id)
        form = RunForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            execution = self._run(request, workflow, form.cleaned_data["input"])
            if execution is not None:
                return redirect("admin:workflows_execution_change", execution.pk)
        return self._page(request, workflow, f"Run {workflow}", action="Run now", form=form,
                          text="Starts an execution of the live version (the production "
                               "deployment, else the latest published version).")

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        workspace = self.formfield_for_foreignkey(self.opts.get_field("workspace"), request)
        bound = request.method == "POST"
        form = ImportForm(request.POST if bound else None, request.FILES if bound else None,
                          workspace=workspace)
        if bound and form.is_valid():
            try:
                workflow_import = service("definitions", "workflow_import")
                workflow = call_refusing(workflow_import, workspace=form.cleaned_data["workspace"],
                                         data=form.cleaned_data["data"], by=request.user,
                                         name=form.cleaned_data["name"] or None)
            except Unavailable as exc:
                form.add_error(None, str(exc))
            except REFUSALS as exc:
                form.add_service_errors(exc)
            else:
                self.message_user(request, f"Imported {workflow}.", messages.SUCCESS)
                return redirect("admin:workflows_workflow_change", workflow.pk)
        context = {**self.admin_site.each_context(request), "title": "Import a workflow",
                   "opts": self.opts, "form": form, "media": self.media + form.media}
        return TemplateResponse(request, "admin/workflows/workflow/import.html", context)


def refusals_as_messages(model_admin, request, view, *args):
    """``view(request, *args)``; a service refusing the save (after the form's own checks
    passed, e.g. a race) rolls it back and comes back as a message on the same page."""
    try:
        return view(request, *args)
    except REFUSALS as exc:
        model_admin.message_user(request, f"Not saved: {error_text(exc)}", messages.ERROR)
        return redirect(request.get_full_path())


def call_refusing(func, **kwargs):
    """``func(**kwargs)`` in a savepoint, refusals raised (for forms to show)."""
    with transaction.atomic():
        return func(**kwargs)


# --- versions and deployments (made by the services only) --------------------------------


@admin.register(m.WorkflowVersion)
class WorkflowVersionAdmin(ReadOnlyModelAdmin):
    list_display = ("__str__", "workflow", "number", "short_checksum", "published_by",
                    "published_at")
    list_select_related = ("workflow", "published_by")
    search_fields = ("workflow__name", "=checksum")
    fieldsets = (
        (None, {"fields": ("workflow", "workspace", "number", "note", "checksum",
                           "published_by", "published_at")}),
        ("Graph", {"fields": ("picture", "graph_json")}),
    )
    readonly_fields = ("picture", "graph_json")
    actions = ["deploy"]

    def has_deploy_permission(self, request) -> bool:
        return request.user.has_perm("workflows.change_workflow")

    @admin.action(description="Deploy this version to production (roll back or forward)",
                  permissions=["deploy"])
    def deploy(self, request, queryset):
        try:
            deploy = service("definitions", "workflow_deploy")
        except Unavailable as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        for version in queryset.select_related("workflow"):
            if not tenancy.can(tenancy.principal_for(request), version.workflow, "change"):
                self.message_user(request, f"Not allowed to deploy {version}.", messages.ERROR)
                continue
            deployment = call(self, request, f"{version} was not deployed", deploy,
                              workflow=version.workflow, version=version, by=request.user)
            if deployment is not None:
                self.message_user(request, f"Deployed {deployment}.", messages.SUCCESS)

    @admin.display(description="checksum")
    def short_checksum(self, version):
        return version.checksum[:12]

    @admin.display(description="picture")
    def picture(self, version):
        return format_html('<div class="wf-graph-frame">{}</div>', render_graph(version.graph))

    @admin.display(description="graph (JSON)")
    def graph_json(self, version):
        text, _ = pretty_json(version.graph)
        return format_html('<details><summary>Show</summary><pre class="wf-json">{}</pre>'
                           "</details>", text)


@admin.register(m.Deployment)
class DeploymentAdmin(ReadOnlyModelAdmin):
    list_display = ("version", "workflow", "environment", "is_active", "activated_by",
                    "activated_at", "deactivated_at")
    list_select_related = ("version__workflow", "workflow", "activated_by")
    list_filter = ("is_active", "environment")
    search_fields = ("workflow__name", "environment")


# --- shares, triggers, nodes, connections ---------------------------------------------------


class ServiceSavedAdmin(BaseModelAdmin):
    """A row created, changed and deleted by ``workflows.services.definitions.<kind>_*``;
    ``service_fields`` are passed to the create service with the workflow."""

    kind = ""
    service_fields: tuple[str, ...] = ()

    def _service(self, verb):
        return service("definitions", f"{self.kind}_{verb}")

    def save_model(self, request, obj, form, change):
        try:
            save = self._service("update" if change else "create")
        except Unavailable:
            return super().save_model(request, obj, form, change)
        if change:
            save(obj)
        else:
            adopt(obj, save(workflow=obj.workflow, by=request.user,
                            **{name: getattr(obj, name) for name in self.service_fields}))
        return None

    def delete_model(self, request, obj):
        try:
            self._service("delete")(obj)
        except Unavailable:
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return refusals_as_messages(self, request, super().changeform_view, object_id,
                                    form_url, extra_context)


class ShareForm(DryRunForm):
    service_fields = ("user", "role", "access")

    class Meta:
        model = m.WorkflowShare
        fields = ("workspace", "workflow", "user", "role", "access")

    def dry_run(self, fields):
        if self.instance.pk:
            service("definitions", "share_update")(
                m.WorkflowShare.objects.get(pk=self.instance.pk), **fields)
        elif self.cleaned_data.get("workflow") is not None:
            service("definitions", "share_create")(workflow=self.cleaned_data["workflow"],
                                                   **fields)


@admin.register(m.WorkflowShare)
class WorkflowShareAdmin(ServiceSavedAdmin):
    kind, service_fields = "share", ("user", "role", "access")
    form = ShareForm
    list_display = ("workflow", "user", "role", "access", "granted_by", "created_at")
    list_select_related = ("workflow", "user", "role", "granted_by")
    list_filter = ("access",)
    search_fields = ("workflow__name",)
    readonly_fields = ("granted_by",)


class TriggerForm(forms.ModelForm):
    class Meta:
        model = m.Trigger
        fields = ("workflow", "kind", "name", "enabled", "config")

    def clean(self):
        cleaned = super().clean()
        workflow, kind = cleaned.get("workflow"), cleaned.get("kind")
        if workflow is None or not kind or "config" in self.errors:
            return cleaned
        try:
            config_clean = service("triggers", "config_clean")
        except Unavailable:
            return cleaned
        try:
            cleaned["config"] = config_clean(kind, cleaned.get("config"), workflow=workflow)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"config": exc.messages}
            for field, problems in errors.items():
                self.add_error(field if field in self.fields else None, problems)
        return cleaned


@admin.register(m.Trigger)
class TriggerAdmin(BaseModelAdmin):
    form = TriggerForm
    list_display = ("__str__", "workflow", "kind", "enabled", "last_fired_at", "updated_at")
    list_select_related = ("workflow",)
    list_filter = ("kind", "enabled")
    search_fields = ("name", "workflow__name")
    readonly_fields = ("webhook_url", "secret_state", "periodic_task", "last_fired_at")
    actions = ["new_secret"]

    def get_fields(self, request, obj=None):
        fields = ["workflow", "kind", "name", "enabled", "config"]
        return fields + (list(self.readonly_fields) if obj is not None else [])

    @admin.display(description="webhook URL")
    def webhook_url(self, trigger):
        if trigger.kind != m.Trigger.Kind.WEBHOOK:
            return "— (webhook triggers only)"
        try:
            url = reverse("workflow-webhook", kwargs={"token": trigger.webhook_token})
        except NoReverseMatch:
            url = f"/api/v1/hooks/workflows/{trigger.webhook_token}/"
        return format_html("<code>POST {}</code> on this site's address", url)

    @admin.display(description="secret")
    def secret_state(self, trigger):
        if trigger.kind != m.Trigger.Kind.WEBHOOK:
            return "—"
        return "Set (shown once when made; use the action to make a new one)." \
            if trigger.secret_ciphertext else "Not set: deliveries are refused until one is."

    def save_model(self, request, obj, form, change):
        try:
            create = service("triggers", "trigger_create")
            update = service("triggers", "trigger_update")
        except Unavailable:
            obj.save()
            return
        if change:
            update(obj)  # the form set the fields; the service validates and syncs beat
            return
        saved = create(workflow=obj.workflow, kind=obj.kind, by=request.user, name=obj.name,
                       enabled=obj.enabled, config=obj.config)
        adopt(obj, saved)
        self._show_secret(request, saved, getattr(saved, "new_secret", None))

    def delete_model(self, request, obj):
        try:
            service("triggers", "trigger_delete")(obj)
        except Unavailable:
            obj.delete()

    def delete_queryset(self, request, queryset):
        for trigger in queryset:
            self.delete_model(request, trigger)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return refusals_as_messages(self, request, super().changeform_view, object_id,
                                    form_url, extra_context)

    def _show_secret(self, request, trigger, secret):
        if secret:
            self.message_user(request, format_html(
                "The webhook secret of {} is <code>{}</code>. Copy it now: it is not shown "
                "again.", trigger, secret), messages.WARNING)

    @admin.action(description="Make a new webhook secret (shown once)", permissions=["change"])
    def new_secret(self, request, queryset):
        try:
            set_secret = service("triggers", "trigger_set_secret")
        except Unavailable as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        for trigger in queryset:
            if not self.has_change_permission(request, trigger):
                self.message_user(request, f"Not allowed to change {trigger}.", messages.ERROR)
                continue
            secret = call(self, request, f"{trigger}", set_secret, trigger=trigger)
            self._show_secret(request, trigger, secret)


class NodeForm(NodeInlineForm):
    class Meta:
        model = m.Node
        fields = ("workspace", "workflow", *NODE_FIELDS)

    def dry_run(self, fields):
        if self.instance.pk:
            super().dry_run(fields)
        elif self.cleaned_data.get("workflow") is not None:
            service("definitions", "node_create")(workflow=self.cleaned_data["workflow"],
                                                  **fields)


class ConnectionForm(ConnectionInlineForm):
    class Meta:
        model = m.Connection
        fields = ("workspace", "workflow", *CONNECTION_FIELDS)

    def dry_run(self, fields):
        if self.instance.pk:
            super().dry_run(fields)
        elif self.cleaned_data.get("workflow") is not None:
            service("definitions", "connection_create")(workflow=self.cleaned_data["workflow"],
                                                        **fields)


@admin.register(m.Node)
class NodeAdmin(ServiceSavedAdmin):
    kind, service_fields = "node", NODE_FIELDS
    form = NodeForm
    list_display = ("key", "workflow", "type", "name", "disabled", "continue_on_fail")
    list_select_related = ("workflow",)
    list_filter = ("disabled", "continue_on_fail")
    search_fields = ("key", "name", "workflow__name")


@admin.register(m.Connection)
class ConnectionAdmin(ServiceSavedAdmin):
    kind, service_fields = "connection", CONNECTION_FIELDS
    form = ConnectionForm
    list_display = ("__str__", "workflow", "source_output", "target_input")
    list_select_related = ("workflow", "source", "target")
    search_fields = ("workflow__name", "source__key", "target__key")
