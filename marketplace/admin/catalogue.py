"""Back office of the catalogue: components, and their versions (published through
``marketplace.services.catalogue`` like the API: semver order, payload checks; then
read-only except for the yank page)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from core.admin.base import BaseModelAdmin
from core.admin.services import REFUSALS, adopt, call, error_text

from .. import models as m
from ..services import catalogue as services


class VersionInline(admin.TabularInline):
    model = m.ComponentVersion
    extra = 0
    fields = ("version", "published_at", "yanked", "yanked_reason")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # published on the version's own add page (checks run there)


@admin.register(m.MarketplaceComponent)
class MarketplaceComponentAdmin(BaseModelAdmin):
    list_display = ("name", "slug", "kind", "publisher", "price", "currency", "status",
                    "rating_average", "rating_count", "downloads_count")
    list_filter = ("status", "kind", "currency")
    search_fields = ("name", "slug", "publisher")
    readonly_fields = ("rating_average", "rating_count", "downloads_count")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [VersionInline]


class PublishForm(forms.ModelForm):
    class Meta:
        model = m.ComponentVersion
        fields = ("component", "version", "changelog", "payload")


class YankForm(forms.Form):
    reason = forms.CharField(max_length=300, help_text="Shown to workspaces that ask for it.")


@admin.register(m.ComponentVersion)
class ComponentVersionAdmin(BaseModelAdmin):
    list_display = ("component", "version", "published_at", "yanked")
    list_filter = ("yanked",)
    search_fields = ("component__name", "component__slug", "version")
    form = PublishForm
    object_pages = {"yank": ("yank/", "yank_view")}
    fields = ("component", "version", "changelog", "payload_text", "checksum", "sequence",
              "published_at", "published_by", "yanked", "yanked_reason", "yank_link")

    def get_fields(self, request, obj=None):
        return PublishForm.Meta.fields if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # installations and downloads point at it: yank it instead

    @admin.display(description="payload")
    def payload_text(self, version):
        return format_html("<pre>{}</pre>", json.dumps(version.payload, indent=2)[:20000])

    @admin.display(description="yank")
    def yank_link(self, version):
        if version.yanked:
            return "Yanked."
        return format_html('<a href="{}">Yank this version…</a>',
                           reverse("admin:marketplace_componentversion_yank",
                                   args=[version.pk]))

    def save_model(self, request, obj, form, change):
        if change:
            return  # read-only once published
        data = form.cleaned_data
        adopt(obj, services.version_publish(
            component=data["component"], version=data["version"], payload=data["payload"],
            changelog=data.get("changelog") or "", by=request.user))

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except REFUSALS as exc:
            self.message_user(request, f"Not published: {error_text(exc)}", messages.ERROR)
            return redirect(request.get_full_path())

    def yank_view(self, request, object_id):
        version = self.get_object_or_404(request, object_id)
        if not self.has_change_permission(request, version):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        form = YankForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            done = call(self, request, f"{version} was not yanked", services.version_yank,
                        version, reason=form.cleaned_data["reason"], by=request.user)
            if done is not None:
                self.message_user(request, f"{done} yanked.", messages.SUCCESS)
            return redirect(reverse("admin:marketplace_componentversion_change",
                                    args=[version.pk]))
        return TemplateResponse(request, "admin/marketplace/form_page.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "original": version, "title": f"Yank {version}", "form": form,
            "action": "Yank", "text": "A yanked version is no longer installed or upgraded "
                                      "to; workspaces that installed it keep their workflow."})
