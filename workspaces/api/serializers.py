"""Serializers of workspace resources: thin, validation through the core base."""

from django.contrib.auth.models import Permission
from rest_framework import serializers

from core.api.serializers import BaseModelSerializer
from workspaces import models as m

_TIMESTAMPS = ["created_at", "updated_at"]


class WorkspaceSerializer(BaseModelSerializer):
    class Meta:
        model = m.Workspace
        fields = ["id", "name", "slug", "status", "billing_plan", "settings", "metadata",
                  "usage_limits", "features_enabled", *_TIMESTAMPS]
        read_only_fields = ["billing_plan", "usage_limits", *_TIMESTAMPS]
        extra_kwargs = {"slug": {"required": False}}

    def validate(self, attrs):
        if self.instance is None and not attrs.get("slug") and attrs.get("name"):
            from workspaces.services.workspaces import unique_slug

            attrs["slug"] = unique_slug(attrs["name"])
        return super().validate(attrs)


class TransferSerializer(serializers.Serializer):
    user = serializers.IntegerField(help_text="Id of the member who becomes the owner.")


def _content_permissions():
    """Permissions a custom role may grant: on content models, not on administration."""
    from core import tenancy
    from workspaces import models as wm

    content = [mdl._meta.model_name for mdl in (wm.Project, wm.ProjectVersion,
                                                 wm.ProjectCollaborator, wm.ProjectComment,
                                                 wm.Tag, wm.File)
               if tenancy.required_role(mdl, "change") == tenancy.MEMBER]
    return Permission.objects.filter(content_type__app_label="workspaces",
                                     content_type__model__in=content)


class RoleSerializer(BaseModelSerializer):
    permissions = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=_content_permissions(),
        help_text="Permissions on content (projects, files, tags...) added to the base role.")

    class Meta:
        model = m.Role
        fields = ["id", "workspace", "name", "description", "permissions", *_TIMESTAMPS]


class MembershipSerializer(BaseModelSerializer):
    class Meta:
        model = m.Membership
        fields = ["id", "workspace", "user", "role", "custom_role", *_TIMESTAMPS]
        read_only_fields = ["workspace", "user", *_TIMESTAMPS]


class InvitationSerializer(BaseModelSerializer):
    class Meta:
        model = m.Invitation
        fields = ["id", "workspace", "email", "role", "status", "expires_at", "invited_by",
                  "accepted_by", *_TIMESTAMPS]
        read_only_fields = ["status", "expires_at", "invited_by", "accepted_by", *_TIMESTAMPS]


class InvitationTokenSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=200)


class ProjectSerializer(BaseModelSerializer):
    class Meta:
        model = m.Project
        fields = ["id", "workspace", "name", "description", "status", "tags", "created_by",
                  *_TIMESTAMPS]
        read_only_fields = ["created_by", *_TIMESTAMPS]
        extra_kwargs = {"tags": {"required": False}}


class ProjectVersionSerializer(BaseModelSerializer):
    class Meta:
        model = m.ProjectVersion
        fields = ["id", "workspace", "project", "number", "notes", "snapshot", *_TIMESTAMPS]


class ProjectCollaboratorSerializer(BaseModelSerializer):
    class Meta:
        model = m.ProjectCollaborator
        fields = ["id", "workspace", "project", "user", "access", *_TIMESTAMPS]


class ProjectCommentSerializer(BaseModelSerializer):
    class Meta:
        model = m.ProjectComment
        fields = ["id", "workspace", "project", "author", "body", *_TIMESTAMPS]
        read_only_fields = ["author", *_TIMESTAMPS]


class ActivitySerializer(BaseModelSerializer):
    class Meta:
        model = m.Activity
        fields = ["id", "workspace", "created_at", "actor", "verb", "target_type", "target_id",
                  "summary", "data"]


class WorkspaceFeatureSerializer(BaseModelSerializer):
    class Meta:
        model = m.WorkspaceFeature
        fields = ["id", "workspace", "key", "enabled", "config", *_TIMESTAMPS]


class TagSerializer(BaseModelSerializer):
    class Meta:
        model = m.Tag
        fields = ["id", "workspace", "name", "color", *_TIMESTAMPS]


class FileSerializer(BaseModelSerializer):
    file = serializers.FileField(write_only=True, required=True,
                                 help_text="The upload (multipart/form-data).")
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = m.File
        fields = ["id", "workspace", "project", "name", "file", "download_url", "content_type",
                  "size", "checksum", "status", "metadata", "access_permissions", "uploaded_by",
                  *_TIMESTAMPS]
        read_only_fields = ["content_type", "size", "checksum", "uploaded_by", *_TIMESTAMPS]
        extra_kwargs = {"name": {"required": False}}

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            fields["file"].required = False  # content is immutable; upload a new file instead
            fields["file"].read_only = True
        return fields

    def validate(self, attrs):
        upload = attrs.get("file")
        if upload is not None and not attrs.get("name"):
            attrs["name"] = upload.name[:255]
        return super().validate(attrs)

    def get_download_url(self, obj) -> str:
        from django.urls import reverse

        url = reverse("workspaces-file-download", args=[obj.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class SecretSerializer(BaseModelSerializer):
    value = serializers.CharField(write_only=True, required=False, max_length=20_000,
                                  style={"input_type": "password"},
                                  help_text="Write-only. Read it back with the reveal action.")

    class Meta:
        model = m.Secret
        fields = ["id", "workspace", "name", "description", "value", "created_by", "rotated_at",
                  *_TIMESTAMPS]
        read_only_fields = ["created_by", "rotated_at", *_TIMESTAMPS]

    def validate(self, attrs):
        value = attrs.pop("value", None)
        attrs = super().validate(attrs)
        if self.instance is None and value is None:
            raise serializers.ValidationError({"value": ["This field is required."]})
        if value is not None:
            attrs["value"] = value
        return attrs


class SecretValueSerializer(serializers.Serializer):
    value = serializers.CharField()


class SecretAccessSerializer(BaseModelSerializer):
    class Meta:
        model = m.SecretAccess
        fields = ["id", "workspace", "created_at", "secret", "user", "api_key", "action",
                  "ip_address"]


class ApiKeySerializer(BaseModelSerializer):
    class Meta:
        model = m.ApiKey
        fields = ["id", "workspace", "name", "role", "prefix", "expires_at", "revoked_at",
                  "last_used_at", "created_by", *_TIMESTAMPS]
        read_only_fields = ["prefix", "revoked_at", "last_used_at", "created_by", *_TIMESTAMPS]


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="Shown only in this response.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
