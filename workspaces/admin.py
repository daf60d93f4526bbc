"""Back-office views of workspaces: all on the core admin bases (tenancy included)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.html import format_html, format_html_join

from billing import entitlements
from core import tenancy
from core.admin.base import BaseModelAdmin, ReadOnlyModelAdmin
from core.admin.services import adopt
from core.net import client_ip
from workspaces import models as m
from workspaces.services import files, keys, projects, vault
from workspaces.services import workspaces as ws


@admin.register(m.Workspace)
class WorkspaceAdmin(BaseModelAdmin):
    list_display = ("name", "slug", "status", "billing_plan", "created_at")
    list_filter = ("status", "billing_plan")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    # Derived from the subscription (billing.entitlements.sync_workspace), never typed in.
    readonly_fields = ("billing_plan", "usage_limits", "allowances")

    @admin.display(description="plan allowances")
    def allowances(self, workspace):
        """Each feature's limit, usage and what is left now (billing.entitlements)."""
        if workspace.pk is None:
            return "—"
        rows = ((a.feature, "unlimited" if a.limit is None else a.limit, a.used,
                 "—" if a.remaining is None else a.remaining,
                 f"{a.resets_at:%Y-%m-%d %H:%M} UTC" if a.resets_at else "—")
                for a in entitlements.allowances(workspace.pk))
        return format_html(
            "<table><thead><tr><th>feature</th><th>limit</th><th>used</th><th>left</th>"
            "<th>resets</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                                 "<td>{}</td></tr>", rows))

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if not change:  # every workspace has one owner: whoever creates it
                ws.workspace_set_up(workspace=obj, owner=request.user)


class MembershipForm(forms.ModelForm):
    """Roles change under the same rule as the API: never to or from owner here."""

    class Meta:
        model = m.Membership
        fields = ("workspace", "user", "role", "custom_role")

    def clean_role(self):
        role = self.cleaned_data["role"]
        try:
            ws.membership_check_change(membership=self.instance, new_role=role)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["role"]) from exc
        return role


@admin.register(m.Membership)
class MembershipAdmin(BaseModelAdmin):
    form = MembershipForm
    list_display = ("user", "workspace", "role", "custom_role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "workspace__name")

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.role == tenancy.OWNER:
            return False  # the owner leaves only by transferring ownership first
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        ws.membership_save(obj, by=request.user)

    def delete_model(self, request, obj):
        ws.membership_remove(membership=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        owners = 0
        for membership in queryset.select_related("user", "workspace"):
            if membership.role == tenancy.OWNER:
                owners += 1
                continue
            ws.membership_remove(membership=membership, by=request.user)
        if owners:
            self.message_user(request, f"Kept {owners} owner membership(s): transfer ownership "
                                       "before removing an owner.", messages.WARNING)


@admin.register(m.Role)
class RoleAdmin(BaseModelAdmin):
    list_display = ("name", "workspace", "description")
    search_fields = ("name",)
    filter_horizontal = ("permissions",)


@admin.register(m.Invitation)
class InvitationAdmin(BaseModelAdmin):
    list_display = ("email", "workspace", "role", "status", "expires_at", "invited_by")
    list_filter = ("status", "role")
    search_fields = ("email",)
    readonly_fields = ("status", "expires_at", "invited_by", "accepted_by")

    def has_add_permission(self, request) -> bool:
        return False  # sent through the API, which emails the single-use link


@admin.register(m.Project)
class ProjectAdmin(BaseModelAdmin):
    list_display = ("name", "workspace", "status", "created_by", "created_at")
    list_filter = ("status",)
    search_fields = ("name",)

    def save_model(self, request, obj, form, change):
        # Tags are written again by save_related; passing them here puts them in the feed.
        projects.project_save(obj, by=request.user, tags=form.cleaned_data.get("tags"))


@admin.register(m.ProjectVersion)
class ProjectVersionAdmin(BaseModelAdmin):
    list_display = ("project", "number", "workspace", "created_at")


@admin.register(m.ProjectCollaborator)
class ProjectCollaboratorAdmin(BaseModelAdmin):
    list_display = ("project", "user", "access", "workspace")


@admin.register(m.ProjectComment)
class ProjectCommentAdmin(BaseModelAdmin):
    list_display = ("project", "author", "workspace", "created_at")
    search_fields = ("body",)


@admin.register(m.Activity)
class ActivityAdmin(ReadOnlyModelAdmin):
    list_display = ("created_at", "workspace", "actor", "verb", "summary")
    list_filter = ("verb",)
    search_fields = ("summary",)


@admin.register(m.WorkspaceFeature)
class WorkspaceFeatureAdmin(BaseModelAdmin):
    list_display = ("key", "workspace", "enabled")
    list_filter = ("enabled",)
    search_fields = ("key",)


@admin.register(m.Tag)
class TagAdmin(BaseModelAdmin):
    list_display = ("name", "workspace", "color")
    search_fields = ("name",)


class FileForm(forms.ModelForm):
    class Meta:
        model = m.File
        fields = ("workspace", "project", "name", "file", "status", "metadata",
                  "access_permissions")

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is not None and "file" in self.changed_data:
            try:  # the store's own limit, as a form error rather than a failed save
                files.file_check_upload(upload)
            except ValidationError as exc:
                raise ValidationError(exc.message_dict["file"]) from exc
        return upload


@admin.register(m.File)
class FileAdmin(BaseModelAdmin):
    form = FileForm
    list_display = ("name", "workspace", "project", "content_type", "size", "status",
                    "created_at")
    list_filter = ("status",)
    search_fields = ("name", "checksum")
    readonly_fields = ("content_type", "size", "checksum", "uploaded_by")

    def save_model(self, request, obj, form, change):
        upload = form.cleaned_data.get("file")
        if not change:
            fields = {name: value for name, value in form.cleaned_data.items()
                      if name not in ("file", "workspace", "project")}
            adopt(obj, files.file_store(workspace=obj.workspace, project=obj.project,
                                        upload=upload, by=request.user, **fields))
        elif "file" in form.changed_data:
            files.file_replace(stored=obj, upload=upload)
        else:
            super().save_model(request, obj, form, change)


class SecretForm(forms.ModelForm):
    """The value is write-only: typed in, never shown back."""

    value = forms.CharField(widget=forms.PasswordInput(render_value=False), required=False,
                            help_text="Leave empty to keep the current value.")

    class Meta:
        model = m.Secret
        fields = ("workspace", "name", "description")

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None and not cleaned.get("value"):
            self.add_error("value", "A new secret needs a value.")
        return cleaned


@admin.register(m.Secret)
class SecretAdmin(BaseModelAdmin):
    form = SecretForm
    list_display = ("name", "workspace", "created_by", "rotated_at", "updated_at")
    search_fields = ("name",)

    def save_model(self, request, obj, form, change):
        value = form.cleaned_data.get("value")
        if not change:
            adopt(obj, vault.secret_create(workspace=obj.workspace, name=obj.name,
                                           description=obj.description, value=value,
                                           by=request.user))
            return
        super().save_model(request, obj, form, change)
        if value:  # recorded as a SecretAccess, as through the API
            vault.secret_set_value(secret=obj, value=value, ip=client_ip(request),
                                   principal=tenancy.principal_for(request))


@admin.register(m.SecretAccess)
class SecretAccessAdmin(ReadOnlyModelAdmin):
    list_display = ("created_at", "secret", "action", "user", "api_key", "ip_address")
    list_filter = ("action",)


@admin.register(m.ApiKey)
class ApiKeyAdmin(BaseModelAdmin):
    list_display = ("name", "prefix", "workspace", "role", "expires_at", "revoked_at",
                    "last_used_at")
    list_filter = ("role",)
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "revoked_at", "last_used_at", "created_by")
    actions = ["revoke_keys"]

    def has_add_permission(self, request) -> bool:
        return False  # created through the API, which shows the key once

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_keys(self, request, queryset):
        for key in queryset:
            keys.api_key_revoke(key=key)
        self.message_user(request, "Keys revoked.")
