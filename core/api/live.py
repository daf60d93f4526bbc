"""API resources for live settings (read-only, staff) and feature flags (staff CRUD)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core import live_settings
from core.models import FeatureFlag, FlagOverride, SystemSetting

from .permissions import ModelPermissions
from .serializers import BaseModelSerializer
from .viewsets import ReadOnlyModelViewSet, StaffModelViewSet

_TIMESTAMPS = ["created_at", "updated_at"]


class SystemSettingSerializer(BaseModelSerializer):
    """A stored setting with what the code declares about it (empty for undeclared keys)."""

    current = serializers.SerializerMethodField(
        help_text="The value in effect: the stored one, else the default.")
    default = serializers.SerializerMethodField()
    type = serializers.SerializerMethodField()
    help_text = serializers.SerializerMethodField()

    class Meta:
        model = SystemSetting
        fields = ["id", "key", "value", "current", "default", "type", "help_text",
                  *_TIMESTAMPS]

    def _declared(self, obj):
        return live_settings.declared().get(obj.key)

    @extend_schema_field(OpenApiTypes.ANY)
    def get_current(self, obj):
        return live_settings.get(obj.key) if self._declared(obj) else obj.value

    @extend_schema_field(OpenApiTypes.ANY)
    def get_default(self, obj):
        declared = self._declared(obj)
        return declared.default_value if declared else None

    def get_type(self, obj) -> str | None:
        declared = self._declared(obj)
        return declared.type.__name__ if declared else None

    def get_help_text(self, obj) -> str:
        declared = self._declared(obj)
        return declared.help_text if declared else ""


class SystemSettingViewSet(ReadOnlyModelViewSet):
    """Live settings, read-only (staff with the view permission); staff change them in
    the admin.  Every declared setting is listed, stored or not."""

    queryset = SystemSetting.objects.all()
    serializer_class = SystemSettingSerializer
    permission_classes = [ModelPermissions]

    def list(self, request, *args, **kwargs):
        live_settings.setting_rows_ensure()
        return super().list(request, *args, **kwargs)


class FeatureFlagSerializer(BaseModelSerializer):
    class Meta:
        model = FeatureFlag
        fields = ["id", "key", "description", "enabled", "rollout_percent", *_TIMESTAMPS]


class FeatureFlagViewSet(StaffModelViewSet):
    """Feature flags (staff); ask ``core.flags.is_active`` rather than reading these."""

    queryset = FeatureFlag.objects.all()
    serializer_class = FeatureFlagSerializer


class FlagOverrideSerializer(BaseModelSerializer):
    class Meta:
        model = FlagOverride
        fields = ["id", "flag", "workspace", "user", "enabled", "note", *_TIMESTAMPS]


class FlagOverrideViewSet(StaffModelViewSet):
    """One workspace's or user's own answer for a flag (staff); wins over the rollout."""

    queryset = FlagOverride.objects.all()
    serializer_class = FlagOverrideSerializer
