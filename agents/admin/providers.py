"""Back office of providers, models and their dated prices (admins of a workspace).

A provider names the vault secret holding its key; the key is never shown here."""

from django.contrib import admin

from core.admin.base import BaseModelAdmin

from .. import models as m


class ModelPriceInline(admin.TabularInline):
    model = m.ModelPrice
    extra = 0
    fields = ("effective_from", "input_per_million", "output_per_million",
              "cached_input_per_million", "currency")
    ordering = ("-effective_from",)
    verbose_name_plural = "prices (a call costs the price in effect at its time)"

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        workspace_id = obj.workspace_id if obj is not None else None

        class SameWorkspace(formset):
            def save_new(self, form, commit=True):
                form.instance.workspace_id = workspace_id or self.instance.workspace_id
                return super().save_new(form, commit=commit)

            def _construct_form(self, i, **kw):
                form = super()._construct_form(i, **kw)
                if self.instance.workspace_id and not form.instance.workspace_id:
                    form.instance.workspace_id = self.instance.workspace_id
                return form

        return SameWorkspace


@admin.register(m.LLMProvider)
class LLMProviderAdmin(BaseModelAdmin):
    list_display = ("name", "workspace", "kind", "base_url", "is_active", "updated_at")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "base_url")
    fieldsets = (
        (None, {"fields": ("workspace", "name", "kind", "is_active")}),
        ("Connection", {"fields": ("base_url", "api_key_secret", "organization", "timeout",
                                   "max_retries")}),
        ("Other", {"fields": ("metadata",)}),
    )


@admin.register(m.LLMModel)
class LLMModelAdmin(BaseModelAdmin):
    list_display = ("__str__", "name", "provider", "kind", "context_window", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "display_name", "provider__name")
    fields = ("workspace", "provider", "name", "display_name", "kind", "context_window",
              "max_output_tokens", "capabilities", "is_active")
    inlines = [ModelPriceInline]


@admin.register(m.ModelPrice)
class ModelPriceAdmin(BaseModelAdmin):
    list_display = ("model", "effective_from", "input_per_million", "output_per_million",
                    "cached_input_per_million", "currency")
    list_filter = ("currency",)
    search_fields = ("model__name",)
    fields = ("workspace", "model", "effective_from", "input_per_million", "output_per_million",
              "cached_input_per_million", "currency")
