"""Back office of what workspaces do with the catalogue.

Staff act for a workspace through the same services as the API: the *add* page of a
purchase buys (credits or invoice), the add page of an installation installs (refused
for a paid component the workspace has not bought), and the "upgrade" action upgrades.
Purchases, installations and downloads are read-only records once made; ratings are
moderated by deleting them (the average is recomputed).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect

from core import tenancy
from core.admin.base import BaseModelAdmin, ReadOnlyModelAdmin
from core.admin.services import REFUSALS, adopt, call, error_text

from .. import models as m
from ..services import installs, purchases, ratings


class _ServiceAddAdmin(BaseModelAdmin):
    """The add page saves through a service; the change page is read-only."""

    add_fields: tuple[str, ...] = ()

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else super().get_fields(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["fields"] = self.add_fields
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return [f.name for f in self.model._meta.fields]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_related(self, request, form, formsets, change):
        pass

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if object_id is not None:
            extra_context = {**(extra_context or {}), "show_save": False,
                             "show_save_and_continue": False,
                             "show_save_and_add_another": False}
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except REFUSALS as exc:
            self.message_user(request, f"Not saved: {error_text(exc)}", messages.ERROR)
            return redirect(request.get_full_path())


@admin.register(m.ComponentPurchase)
class ComponentPurchaseAdmin(_ServiceAddAdmin):
    list_display = ("component", "workspace", "price_paid", "currency", "method", "status",
                    "created_at")
    list_filter = ("method", "status")
    search_fields = ("component__name", "workspace__name")
    add_fields = ("workspace", "component", "method")

    def save_model(self, request, obj, form, change):
        if change:
            return
        data = form.cleaned_data
        purchase, created = purchases.component_purchase(
            workspace=data["workspace"], component=data["component"], method=data["method"],
            by=request.user, principal=tenancy.principal_for(request))
        if not created:
            self.message_user(request, "The workspace had bought it already: nothing was "
                                       "charged.", messages.WARNING)
        adopt(obj, purchase)


class InstallForm(forms.ModelForm):
    name = forms.CharField(max_length=120, required=False,
                           help_text="The new workflow's name (default: the component's).")

    class Meta:
        model = m.ComponentInstallation
        fields = ("workspace", "component", "version")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "version" in self.fields:
            self.fields["version"].required = False
            self.fields["version"].help_text = "Empty: the latest version not yanked."

    def _post_clean(self):
        pass  # the service validates (and builds) the installation


@admin.register(m.ComponentInstallation)
class ComponentInstallationAdmin(_ServiceAddAdmin):
    list_display = ("component", "version", "workspace", "workflow", "installed_by",
                    "upgraded_at", "created_at")
    list_select_related = ("component", "version__component", "workspace", "workflow",
                           "installed_by")
    search_fields = ("component__name", "workspace__name", "workflow__name")
    form = InstallForm
    add_fields = ("workspace", "component", "version", "name")
    actions = ["upgrade_selected"]

    def save_model(self, request, obj, form, change):
        if change:
            return
        data = form.cleaned_data
        adopt(obj, installs.component_install(
            workspace=data["workspace"], component=data["component"],
            version=data.get("version"), name=data.get("name") or None, by=request.user,
            principal=tenancy.principal_for(request)))

    @admin.action(description="Upgrade to the latest version (drafts edited since are kept)",
                  permissions=["change"])
    def upgrade_selected(self, request, queryset):
        done = 0
        for installation in queryset.select_related("workspace", "component", "version"):
            if call(self, request, f"{installation}", installs.installation_upgrade,
                    installation, by=request.user,
                    principal=tenancy.principal_for(request)) is not None:
                done += 1
        if done:
            self.message_user(request, f"{done} installation(s) upgraded.", messages.SUCCESS)

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)


@admin.register(m.ComponentDownload)
class ComponentDownloadAdmin(ReadOnlyModelAdmin):
    list_display = ("created_at", "kind", "component", "version", "from_version", "workspace",
                    "by")
    list_select_related = ("component", "version__component", "workspace", "by")
    list_filter = ("kind",)
    search_fields = ("component__name", "workspace__name")


@admin.register(m.ComponentRating)
class ComponentRatingAdmin(BaseModelAdmin):
    list_display = ("component", "user", "score", "updated_at")
    list_filter = ("score",)
    search_fields = ("component__name", "user__email", "comment")
    readonly_fields = ("component", "user", "score", "comment")

    def has_add_permission(self, request) -> bool:
        return False  # users rate; staff moderate by deleting

    def delete_model(self, request, obj):
        ratings.rating_delete(obj)

    def delete_queryset(self, request, queryset):
        for rating in queryset:
            ratings.rating_delete(rating)
