"""Back office of templates: publish a version as a template (the add page), install one,
the gallery's collections, favourites, reviews and installations, node templates and
their ratings.

Every save goes through ``workflows.services.templates``; a refusal (a secret's value in
the graph, a second review by the same person, a private template of another workspace)
comes back as a message on the same page, nothing saved.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from core import tenancy
from core.admin.base import BaseModelAdmin, ReadOnlyModelAdmin
from core.admin.services import adopt

from .. import models as m
from ..rendering.graph_svg import render_graph
from ..rendering.spans import pretty_json
from ..services import templates as services
from .common import call
from .definitions import refusals_as_messages


def _json(value):
    text, _ = pretty_json(value)
    return format_html('<pre class="wf-json">{}</pre>', text)


class _ThroughServices(BaseModelAdmin):
    """Saves and deletes call the services; refusals become messages."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return refusals_as_messages(self, request, super().changeform_view, object_id,
                                    form_url, extra_context)

    def _changed(self, form) -> dict:
        return {name: form.cleaned_data[name] for name in form.changed_data
                if name in form.cleaned_data}


@admin.register(m.WorkflowTemplate)
class WorkflowTemplateAdmin(_ThroughServices):
    list_display = ("name", "workspace", "visibility", "category", "install_count",
                    "rating_average", "rating_count", "published_at")
    list_filter = ("visibility", "category")
    search_fields = ("name", "category")
    fields = ("workspace", "source_version", "name", "description", "category", "tags",
              "visibility", "publisher", "credentials", "install_count", "rating_average",
              "rating_count", "checksum", "picture")
    readonly_fields = ("publisher", "credentials", "install_count", "rating_average",
                       "rating_count", "checksum", "picture")
    actions = ["install_here"]

    def save_model(self, request, obj, form, change):
        if change:
            services.template_update(obj, by=request.user, **self._changed(form))
            return
        adopt(obj, services.template_publish(
            source_version=obj.source_version, workspace=obj.workspace, by=request.user,
            name=obj.name, description=obj.description, category=obj.category,
            tags=obj.tags, visibility=obj.visibility))

    def delete_model(self, request, obj):
        services.template_delete(obj)

    @admin.display(description="required credentials (names only)")
    def credentials(self, template):
        return _json(template.required_credentials)

    @admin.display(description="graph")
    def picture(self, template):
        if not template.graph:
            return "—"
        return format_html('<div class="wf-graph-frame">{}</div>', render_graph(template.graph))

    @admin.action(description="Install into its own workspace as a new draft workflow")
    def install_here(self, request, queryset):
        principal = tenancy.principal_for(request)
        stamp = timezone.now().strftime("%Y-%m-%d %H:%M")
        for template in queryset.select_related("workspace"):
            installation = call(self, request, f"{template} was not installed",
                                services.template_install, template=template,
                                workspace=template.workspace, by=request.user,
                                principal=principal,
                                name=f"{template.name[:96]} (installed {stamp})")
            if installation is not None:
                self.message_user(request, f"Installed as {installation.workflow}; "
                                           f"create these secrets: "
                                           f"{', '.join(installation.missing_secrets) or 'none'}.",
                                  messages.SUCCESS)


@admin.register(m.TemplateCollection)
class TemplateCollectionAdmin(_ThroughServices):
    list_display = ("name", "workspace", "curated_by", "updated_at")
    search_fields = ("name",)
    readonly_fields = ("curated_by",)
    filter_horizontal = ("templates",)

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()  # the templates follow in save_related
        else:
            adopt(obj, services.collection_create(workspace=obj.workspace, by=request.user,
                                                  name=obj.name,
                                                  description=obj.description))

    def save_related(self, request, form, formsets, change):
        services.collection_update(form.instance, templates=form.cleaned_data["templates"])

    def delete_model(self, request, obj):
        services.collection_delete(obj)


class _PersonalAdmin(_ThroughServices):
    """Rows of one person: made by the signed-in user; one per user (the service says)."""

    rated_field = ""
    create = update = delete = None

    def get_readonly_fields(self, request, obj=None):
        fields = [*super().get_readonly_fields(request, obj), "user"]
        return [*fields, self.rated_field] if obj is not None else fields

    def save_model(self, request, obj, form, change):
        if change:
            type(self).update(obj, **self._changed(form))
            return
        values = {name: form.cleaned_data[name] for name in form.cleaned_data
                  if name not in ("workspace", self.rated_field)}
        adopt(obj, type(self).create(workspace=obj.workspace, user=request.user,
                                     **{self.rated_field: getattr(obj, self.rated_field)},
                                     **values))

    def delete_model(self, request, obj):
        type(self).delete(obj)


@admin.register(m.TemplateFavorite)
class TemplateFavoriteAdmin(_PersonalAdmin):
    list_display = ("template", "user", "workspace", "created_at")
    rated_field = "template"
    create = staticmethod(services.favorite_create)
    delete = staticmethod(services.favorite_delete)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # nothing to change: delete it


@admin.register(m.TemplateReview)
class TemplateReviewAdmin(_PersonalAdmin):
    list_display = ("template", "rating", "user", "workspace", "created_at")
    list_filter = ("rating",)
    rated_field = "template"
    create = staticmethod(services.review_create)
    update = staticmethod(services.review_update)
    delete = staticmethod(services.review_delete)


@admin.register(m.TemplateInstallation)
class TemplateInstallationAdmin(ReadOnlyModelAdmin):
    list_display = ("template_name", "workflow", "workspace", "installed_by", "installed_at")
    search_fields = ("template_name",)


@admin.register(m.NodeTemplate)
class NodeTemplateAdmin(_ThroughServices):
    list_display = ("name", "workspace", "node_type", "visibility", "apply_count",
                    "rating_average", "rating_count")
    list_filter = ("visibility", "node_type")
    search_fields = ("name", "node_type")
    readonly_fields = ("publisher", "credentials", "apply_count", "rating_average",
                       "rating_count")

    def save_model(self, request, obj, form, change):
        if change:
            services.node_template_update(obj, by=request.user, **self._changed(form))
            return
        adopt(obj, services.node_template_create(
            workspace=obj.workspace, by=request.user, name=obj.name,
            description=obj.description, node_type=obj.node_type, config=obj.config,
            category=obj.category, visibility=obj.visibility))

    def delete_model(self, request, obj):
        services.node_template_delete(obj)

    @admin.display(description="required credentials (names only)")
    def credentials(self, node_template):
        return _json(node_template.required_credentials)


@admin.register(m.NodeRating)
class NodeRatingAdmin(_PersonalAdmin):
    list_display = ("node_template", "rating", "user", "workspace", "created_at")
    list_filter = ("rating",)
    rated_field = "node_template"
    create = staticmethod(services.node_rating_create)
    update = staticmethod(services.node_rating_update)
    delete = staticmethod(services.node_rating_delete)
