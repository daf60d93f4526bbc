"""The catalogue staff sell from: features, plans and their values, payment providers."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from core.models import TimestampedModel

from .common import currency_field, minor_units, validate_object


class Feature(models.Model):
    """Mirror of ``billing.features.FEATURES`` (rewritten after every migrate)."""

    append_only = True
    catalogue = True

    class Kind(models.TextChoices):
        LIMIT = "limit", "Limit"
        SWITCH = "switch", "Switch"

    class Measure(models.TextChoices):
        NONE = "", "—"
        METERED = "metered", "Usage in the billing period"
        GAUGE = "gauge", "Counted now"

    key = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    measure = models.CharField(max_length=8, choices=Measure.choices, blank=True)
    unit = models.CharField(max_length=30, blank=True)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ("key",)

    def __str__(self) -> str:
        return self.name


class Plan(TimestampedModel):
    """What a workspace subscribes to: a price per interval and feature values."""

    public_read = True  # signed-in callers read active public plans and their own

    class Interval(models.TextChoices):
        MONTH = "month", "Monthly"
        YEAR = "year", "Yearly"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ARCHIVED = "archived", "Archived (existing subscribers keep it; no new ones)"

    code = models.SlugField(max_length=40, unique=True, help_text="Stable key, e.g. pro.")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    interval = models.CharField(max_length=8, choices=Interval.choices, default=Interval.MONTH)
    price = minor_units("Price per interval in minor units (cents).",
                        validators=[MinValueValidator(0)])
    currency = currency_field()
    trial_days = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(730)])
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    is_public = models.BooleanField(default=True, help_text="Offered to every workspace; "
                                    "private plans are assigned by staff.")
    is_default = models.BooleanField(default=False, help_text="The plan of a workspace "
                                     "without a subscription (one plan at most).")
    sort_order = models.PositiveSmallIntegerField(default=0)
    metadata = models.JSONField(default=dict, blank=True, validators=[validate_object])

    class Meta:
        ordering = ("sort_order", "price", "code")
        constraints = [models.UniqueConstraint(fields=["is_default"],
                                               condition=models.Q(is_default=True),
                                               name="billing_plan_one_default")]

    def __str__(self) -> str:
        return self.name


class PlanFeature(TimestampedModel):
    """A plan's value for a feature: a limit (and what is included before overage) or
    a switch."""

    public_read = True

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="features")
    feature = models.ForeignKey(Feature, on_delete=models.PROTECT, related_name="+")
    limit = models.BigIntegerField(null=True, blank=True, validators=[MinValueValidator(0)],
                                   help_text="Hard cap; empty means unlimited.")
    included = models.BigIntegerField(default=0, validators=[MinValueValidator(0)],
                                      help_text="Metered usage included in the price.")
    overage_price = models.DecimalField(
        max_digits=18, decimal_places=6, default=0, validators=[MinValueValidator(0)],
        help_text="Minor units per unit above the included amount (0: not billed).")
    enabled = models.BooleanField(default=True, help_text="For switches: on or off.")

    class Meta:
        ordering = ("plan", "feature")
        constraints = [models.UniqueConstraint(fields=["plan", "feature"],
                                               name="billing_planfeature_unique")]

    def __str__(self) -> str:
        return f"{self.plan}: {self.feature}"


class PaymentProvider(TimestampedModel):
    """Where payments are collected.  ``manual``: invoices are paid by transfer and staff
    mark them paid.  ``stripe``: through the Stripe API (keys from settings)."""


    class Kind(models.TextChoices):
        MANUAL = "manual", "Manual (bank transfer, staff mark paid)"
        STRIPE = "stripe", "Stripe"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MANUAL)
    is_active = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False)
    api_base = models.URLField(blank=True, help_text="Override of the provider's API URL "
                               "(tests and proxies); empty for the provider's own.")
    config = models.JSONField(default=dict, blank=True, validators=[validate_object],
                              help_text="Non-secret settings; keys live in settings.")

    class Meta:
        ordering = ("code",)
        constraints = [models.UniqueConstraint(fields=["is_default"],
                                               condition=models.Q(is_default=True),
                                               name="billing_provider_one_default")]

    def __str__(self) -> str:
        return self.name


class PlanProviderMapping(TimestampedModel):
    """The plan's product and price ids at a provider."""


    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="provider_mappings")
    provider = models.ForeignKey(PaymentProvider, on_delete=models.CASCADE,
                                 related_name="plan_mappings")
    external_product_id = models.CharField(max_length=120, blank=True)
    external_price_id = models.CharField(max_length=120)

    class Meta:
        ordering = ("plan", "provider")
        constraints = [models.UniqueConstraint(fields=["plan", "provider"],
                                               name="billing_planprovider_unique")]

    def __str__(self) -> str:
        return f"{self.plan} @ {self.provider}"


class Coupon(TimestampedModel):
    """A discount: a percentage or an amount, for one, N or every period."""


    class Kind(models.TextChoices):
        PERCENT = "percent", "Percent off"
        AMOUNT = "amount", "Amount off"

    class Duration(models.TextChoices):
        ONCE = "once", "Once"
        REPEATING = "repeating", "For a number of periods"
        FOREVER = "forever", "Forever"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PERCENT)
    percent_off = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True,
                                      validators=[MinValueValidator(0),
                                                  MaxValueValidator(100)])
    amount_off = models.BigIntegerField(null=True, blank=True, validators=[MinValueValidator(0)],
                                        help_text="Minor units, in the coupon's currency.")
    currency = currency_field()
    duration = models.CharField(max_length=10, choices=Duration.choices, default=Duration.ONCE)
    duration_periods = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="For repeating coupons: how many billing periods.")
    max_redemptions = models.PositiveIntegerField(null=True, blank=True,
                                                  help_text="Empty: no limit.")
    times_redeemed = models.PositiveIntegerField(default=0, editable=False)
    redeem_by = models.DateTimeField(null=True, blank=True, help_text="Last moment to redeem.")
    plans = models.ManyToManyField(Plan, blank=True, related_name="coupons",
                                   help_text="Only these plans (empty: any plan).")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ("code",)
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(kind="percent", percent_off__isnull=False)
                           | models.Q(kind="amount", amount_off__isnull=False)),
                name="billing_coupon_value_for_kind"),
            models.CheckConstraint(
                condition=(~models.Q(duration="repeating")
                           | models.Q(duration_periods__isnull=False)),
                name="billing_coupon_periods_when_repeating"),
        ]

    def __str__(self) -> str:
        return self.code


class IssuingAccount(TimestampedModel):
    """The seller on invoices, holding its own gapless number sequence."""


    name = models.CharField(max_length=120)
    legal_name = models.CharField(max_length=200, blank=True)
    address = models.TextField(blank=True)
    tax_id = models.CharField(max_length=60, blank=True)
    email = models.EmailField(blank=True)
    number_prefix = models.CharField(max_length=20, default="INV-",
                                      help_text="Invoice numbers read prefix + sequence.")
    next_number = models.PositiveBigIntegerField(default=1, editable=False)
    is_default = models.BooleanField(default=False)
    payment_terms_days = models.PositiveSmallIntegerField(default=14)
    bank_details = models.TextField(blank=True, help_text="Printed for manual payment.")

    class Meta:
        ordering = ("name",)
        constraints = [models.UniqueConstraint(fields=["is_default"],
                                               condition=models.Q(is_default=True),
                                               name="billing_issuer_one_default")]

    def __str__(self) -> str:
        return self.name
