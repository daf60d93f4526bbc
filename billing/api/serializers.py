"""Serializers of the billing catalogue (plans, features, providers, coupons, issuers),
staff overrides, test clocks and provider events.  The other resources' serializers
live beside their views (subscriptions, invoices, credits, payments, usage)."""

from core.api.serializers import BaseModelSerializer

from .. import models as m

_TIMESTAMPS = ["created_at", "updated_at"]


class FeatureSerializer(BaseModelSerializer):
    class Meta:
        model = m.Feature
        fields = ["id", "key", "name", "kind", "measure", "unit", "description"]


class PlanFeatureSerializer(BaseModelSerializer):
    class Meta:
        model = m.PlanFeature
        fields = ["id", "plan", "feature", "limit", "included", "overage_price", "enabled",
                  *_TIMESTAMPS]
        read_only_fields = _TIMESTAMPS


class PlanSerializer(BaseModelSerializer):
    class Meta:
        model = m.Plan
        fields = ["id", "code", "name", "description", "interval", "price", "currency",
                  "trial_days", "status", "is_public", "is_default", "sort_order",
                  "metadata", *_TIMESTAMPS]
        read_only_fields = _TIMESTAMPS


class PaymentProviderSerializer(BaseModelSerializer):
    class Meta:
        model = m.PaymentProvider
        fields = ["id", "code", "name", "kind", "is_active", "is_default", "api_base",
                  "config", *_TIMESTAMPS]
        read_only_fields = _TIMESTAMPS


class PlanProviderMappingSerializer(BaseModelSerializer):
    class Meta:
        model = m.PlanProviderMapping
        fields = ["id", "plan", "provider", "external_product_id", "external_price_id",
                  *_TIMESTAMPS]
        read_only_fields = _TIMESTAMPS


class CouponSerializer(BaseModelSerializer):
    class Meta:
        model = m.Coupon
        fields = ["id", "code", "name", "kind", "percent_off", "amount_off", "currency",
                  "duration", "duration_periods", "max_redemptions", "times_redeemed",
                  "redeem_by", "plans", "is_active", *_TIMESTAMPS]
        read_only_fields = ["times_redeemed", *_TIMESTAMPS]


class IssuingAccountSerializer(BaseModelSerializer):
    class Meta:
        model = m.IssuingAccount
        fields = ["id", "name", "legal_name", "address", "tax_id", "email", "number_prefix",
                  "next_number", "is_default", "payment_terms_days", "bank_details",
                  *_TIMESTAMPS]
        read_only_fields = ["next_number", *_TIMESTAMPS]


class EntitlementSerializer(BaseModelSerializer):
    class Meta:
        model = m.Entitlement
        fields = ["id", "workspace", "feature", "limit", "included", "enabled", "reason",
                  "expires_at", "created_by", *_TIMESTAMPS]
        read_only_fields = fields


class TestClockSerializer(BaseModelSerializer):
    class Meta:
        model = m.TestClock
        fields = ["id", "workspace", "name", "frozen_time", *_TIMESTAMPS]
        read_only_fields = fields


class BillingEventSerializer(BaseModelSerializer):
    class Meta:
        model = m.BillingEvent
        fields = ["id", "provider", "event_id", "event_type", "occurred_at", "workspace",
                  "payload", "status", "processed_at", "error", *_TIMESTAMPS]
        read_only_fields = fields
