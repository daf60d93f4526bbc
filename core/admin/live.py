"""Back-office pages for live settings and feature flags."""

import json

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from core import flags, live_settings  # noqa: F401  (flags: its cache-invalidating receivers)
from core.models import FeatureFlag, FlagOverride, SystemSetting

from .base import BaseModelAdmin


def _value_field(declared) -> forms.Field:
    common = {"required": False, "help_text": declared.help_text, "label": "Value"}
    if declared.type is bool:
        return forms.BooleanField(**common)
    if declared.type is int:
        return forms.IntegerField(min_value=declared.min_value, max_value=declared.max_value,
                                  **common)
    if declared.choices is not None:
        return forms.ChoiceField(choices=[("", "---------"), *declared.choices()], **common)
    widget = forms.Textarea(attrs={"rows": 3}) if declared.multiline else None
    return forms.CharField(widget=widget, **common)


class SystemSettingForm(forms.ModelForm):
    """The value typed by the declaration in code; "use the default" stores nothing."""

    use_default = forms.BooleanField(
        required=False, label="Use the default",
        help_text="Ticked: the default declared in code applies (the value below is ignored).")

    class Meta:
        model = SystemSetting
        fields = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.declared = live_settings.declared().get(self.instance.key)
        if self.declared is None:
            self.fields["value"] = forms.JSONField(required=False, label="Value (JSON)",
                                                   help_text="No setting with this key is "
                                                             "declared in code.")
            self.initial["value"] = self.instance.value
            return
        self.fields["value"] = _value_field(self.declared)
        self.initial["use_default"] = self.instance.value is None
        self.initial["value"] = live_settings.get(self.instance.key)

    def clean(self):
        cleaned = super().clean()
        if self.declared is None or cleaned.get("use_default"):
            return cleaned
        try:
            cleaned["value"] = self.declared.clean(cleaned.get("value")
                                                   if cleaned.get("value") is not None else "")
        except ValidationError as exc:
            self.add_error("value", exc)
        return cleaned


@admin.register(SystemSetting)
class SystemSettingAdmin(BaseModelAdmin):
    form = SystemSettingForm
    list_display = ("key", "value_in_effect", "is_default", "updated_at")
    search_fields = ("key",)
    readonly_fields = ("key", "default_value", "updated_at")
    fields = ("key", "use_default", "value", "default_value", "updated_at")

    def has_add_permission(self, request) -> bool:
        return False  # settings are declared in code; every declared one is listed

    def changelist_view(self, request, extra_context=None):
        live_settings.setting_rows_ensure()
        return super().changelist_view(request, extra_context)

    def get_fields(self, request, obj=None):
        return self.fields

    @admin.display(description="Value in effect")
    def value_in_effect(self, obj):
        if obj.key in live_settings.declared():
            return _shown(live_settings.get(obj.key))
        return _shown(obj.value)

    @admin.display(description="Default", boolean=True)
    def is_default(self, obj):
        return obj.value is None

    @admin.display(description="Default value")
    def default_value(self, obj):
        declared = live_settings.declared().get(obj.key)
        return _shown(declared.default_value) if declared else "—"

    def save_model(self, request, obj, form, change):
        if form.declared is None:
            obj.value = form.cleaned_data.get("value")
            super().save_model(request, obj, form, change)
            return
        value = None if form.cleaned_data.get("use_default") else form.cleaned_data["value"]
        obj.value = live_settings.setting_set(key=obj.key, value=value).value


def _shown(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@admin.register(FeatureFlag)
class FeatureFlagAdmin(BaseModelAdmin):
    list_display = ("key", "enabled", "rollout_percent", "description", "updated_at")
    list_filter = ("enabled",)
    search_fields = ("key", "description")


@admin.register(FlagOverride)
class FlagOverrideAdmin(BaseModelAdmin):
    list_display = ("flag", "workspace", "user", "enabled", "note", "updated_at")
    list_filter = ("enabled",)
    search_fields = ("flag__key", "note")
