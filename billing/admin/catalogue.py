"""Back office of the catalogue: the plans editor (feature values inline), providers and
plan mappings, coupons, issuing accounts, workspace overrides and provider events.

A change to a plan's feature values or a workspace override applies at once (the
entitlement checks read them live); the workspaces' derived plan fields are re-synced."""

from django.contrib import admin

from core.admin.base import BaseModelAdmin, ReadOnlyModelAdmin

from .. import models as m
from ..services import catalogue as services


class PlanFeatureInline(admin.TabularInline):
    model = m.PlanFeature
    extra = 0
    fields = ("feature", "limit", "included", "overage_price", "enabled")
    verbose_name_plural = "feature values (limit empty = unlimited; overage in minor units " \
                          "per unit above the included amount)"


@admin.register(m.Plan)
class PlanAdmin(BaseModelAdmin):
    list_display = ("name", "code", "interval", "price", "currency", "trial_days", "status",
                    "is_public", "is_default")
    list_filter = ("status", "interval", "is_public", "currency")
    search_fields = ("name", "code")
    fieldsets = (
        (None, {"fields": ("code", "name", "description", "status", "is_public",
                           "is_default", "sort_order")}),
        ("Price", {"fields": ("interval", "price", "currency", "trial_days")}),
        ("Other", {"fields": ("metadata",)}),
    )
    inlines = [PlanFeatureInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.plan_changed(form.instance)


@admin.register(m.PlanFeature)
class PlanFeatureAdmin(BaseModelAdmin):
    list_display = ("plan", "feature", "limit", "included", "overage_price", "enabled")
    list_filter = ("plan", "feature")
    search_fields = ("plan__name", "plan__code", "feature__key")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.plan_changed(obj.plan)


@admin.register(m.Feature)
class FeatureAdmin(ReadOnlyModelAdmin):
    list_display = ("key", "name", "kind", "measure", "unit")
    list_filter = ("kind", "measure")
    search_fields = ("key", "name")


@admin.register(m.PaymentProvider)
class PaymentProviderAdmin(BaseModelAdmin):
    list_display = ("name", "code", "kind", "is_active", "is_default")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "code")


@admin.register(m.PlanProviderMapping)
class PlanProviderMappingAdmin(BaseModelAdmin):
    list_display = ("plan", "provider", "external_product_id", "external_price_id")
    list_filter = ("provider",)
    search_fields = ("plan__code", "external_price_id", "external_product_id")


@admin.register(m.Coupon)
class CouponAdmin(BaseModelAdmin):
    list_display = ("code", "name", "kind", "percent_off", "amount_off", "currency",
                    "duration", "duration_periods", "times_redeemed", "max_redemptions",
                    "redeem_by", "is_active")
    list_filter = ("kind", "duration", "is_active")
    search_fields = ("code", "name")
    readonly_fields = ("times_redeemed",)
    filter_horizontal = ("plans",)


@admin.register(m.IssuingAccount)
class IssuingAccountAdmin(BaseModelAdmin):
    list_display = ("name", "legal_name", "number_prefix", "next_number", "is_default")
    search_fields = ("name", "legal_name", "tax_id")
    readonly_fields = ("next_number",)


@admin.register(m.Entitlement)
class EntitlementAdmin(BaseModelAdmin):
    list_display = ("workspace", "feature", "limit", "included", "enabled", "expires_at",
                    "reason")
    list_filter = ("feature",)
    search_fields = ("workspace__name", "reason")
    readonly_fields = ("created_by",)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        services.workspace_changed(obj.workspace_id)

    def delete_model(self, request, obj):
        workspace_id = obj.workspace_id
        super().delete_model(request, obj)
        services.workspace_changed(workspace_id)


@admin.register(m.BillingEvent)
class BillingEventAdmin(ReadOnlyModelAdmin):
    list_display = ("event_type", "event_id", "provider", "workspace", "status",
                    "occurred_at", "processed_at")
    list_filter = ("status", "provider", "event_type")
    search_fields = ("event_id", "event_type")
