"""A workspace's side of billing: its customer record, payment methods, subscription,
staff overrides of its entitlements, and its test clock."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, transition

from core.models import TimestampedModel
from core.tenancy import ADMIN, WorkspaceScoped

from .common import currency_field, same_workspace, validate_object


class PaymentCustomer(WorkspaceScoped, TimestampedModel):
    """The workspace as a paying customer: invoice details, tax rate, provider id."""

    tenancy_write_role = ADMIN

    provider = models.ForeignKey("billing.PaymentProvider", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="customers")
    external_id = models.CharField(max_length=120, blank=True, editable=False,
                                   help_text="The customer's id at the provider.")
    name = models.CharField(max_length=200)
    email = models.EmailField(help_text="Invoices and payment notices go here.")
    address = models.TextField(blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 code.")
    tax_id = models.CharField(max_length=60, blank=True)
    tax_rate = models.DecimalField(max_digits=6, decimal_places=3, default=0,
                                   validators=[MinValueValidator(0), MaxValueValidator(100)],
                                   help_text="Percent applied to every invoice, e.g. 20.000.")
    currency = currency_field()
    metadata = models.JSONField(default=dict, blank=True, validators=[validate_object])

    class Meta:
        ordering = ("name",)
        constraints = [models.UniqueConstraint(fields=["workspace"],
                                               name="billing_customer_one_per_workspace")]

    def __str__(self) -> str:
        return self.name


class PaymentMethod(WorkspaceScoped, TimestampedModel):
    """A way to pay, stored as the provider's token only (never a card number)."""

    tenancy_write_role = ADMIN

    class Kind(models.TextChoices):
        CARD = "card", "Card"
        SEPA = "sepa_debit", "SEPA debit"
        BANK_TRANSFER = "bank_transfer", "Bank transfer"

    customer = models.ForeignKey(PaymentCustomer, on_delete=models.CASCADE,
                                 related_name="payment_methods")
    provider = models.ForeignKey("billing.PaymentProvider", on_delete=models.PROTECT,
                                 related_name="payment_methods")
    external_id = models.CharField(max_length=120, help_text="The provider's token, "
                                   "e.g. pm_… from Stripe.js.")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CARD)
    brand = models.CharField(max_length=30, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True,
                                                 validators=[MinValueValidator(1),
                                                             MaxValueValidator(12)])
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ("-is_default", "-created_at")
        constraints = [
            models.UniqueConstraint(fields=["provider", "external_id"],
                                    name="billing_paymentmethod_unique_token"),
            models.UniqueConstraint(fields=["customer"], condition=Q(is_default=True),
                                    name="billing_paymentmethod_one_default"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.brand} …{self.last4}".strip()

    def clean(self):
        same_workspace(self, "customer")


class Subscription(WorkspaceScoped, TimestampedModel):
    """A workspace's plan over time.  Its status moves only through the transitions
    below, called by ``billing.services.subscriptions`` (which does the side effects)."""

    tenancy_write_role = ADMIN
    api_operations = ("list", "retrieve", "create")

    class Status(models.TextChoices):
        TRIALING = "trialing", "Trialing"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due"
        PAUSED = "paused", "Paused"
        CANCELLED = "cancelled", "Cancelled"
        ENDED = "ended", "Ended"

    LIVE = (Status.TRIALING, Status.ACTIVE, Status.PAST_DUE, Status.PAUSED)
    S = Status

    plan = models.ForeignKey("billing.Plan", on_delete=models.PROTECT,
                             related_name="subscriptions")
    status = FSMField(max_length=10, choices=Status.choices, default=Status.ACTIVE,
                      protected=False, editable=False)
    started_at = models.DateTimeField()
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField()
    trial_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    past_due_since = models.DateTimeField(null=True, blank=True)
    coupon = models.ForeignKey("billing.Coupon", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="subscriptions")
    coupon_periods_used = models.PositiveSmallIntegerField(default=0, editable=False)
    provider = models.ForeignKey("billing.PaymentProvider", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="subscriptions")
    external_id = models.CharField(max_length=120, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    metadata = models.JSONField(default=dict, blank=True, validators=[validate_object])

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(
                fields=["workspace"],
                condition=Q(status__in=["trialing", "active", "past_due", "paused"]),
                name="billing_subscription_one_live"),
            models.CheckConstraint(condition=Q(current_period_end__gt=models.F(
                "current_period_start")), name="billing_subscription_period_order"),
        ]
        indexes = [models.Index(fields=["status", "current_period_end"],
                                name="billing_subscription_due_idx")]

    def __str__(self) -> str:
        return f"{self.plan} ({self.get_status_display()})"

    # --- the state machine: state only; billing.services.subscriptions does the rest ----

    @transition(field=status, source=Status.TRIALING, target=Status.ACTIVE)
    def activate(self):
        pass

    @transition(field=status, source=[Status.ACTIVE, Status.TRIALING],
                target=Status.PAST_DUE)
    def mark_past_due(self):
        pass

    @transition(field=status, source=Status.PAST_DUE, target=Status.ACTIVE)
    def recover(self):
        pass

    @transition(field=status, source=[Status.ACTIVE, Status.PAST_DUE], target=Status.PAUSED)
    def pause(self):
        pass

    @transition(field=status, source=Status.PAUSED, target=Status.ACTIVE)
    def resume(self):
        pass

    @transition(field=status, source=[Status.TRIALING, Status.ACTIVE, Status.PAST_DUE,
                                      Status.PAUSED], target=Status.CANCELLED)
    def cancel(self):
        pass

    @transition(field=status, source=[Status.TRIALING, Status.ACTIVE, Status.PAST_DUE,
                                      Status.PAUSED, Status.CANCELLED], target=Status.ENDED)
    def end(self):
        pass


class Entitlement(WorkspaceScoped, TimestampedModel):
    """A staff override of one feature for one workspace (wins over the plan's value)."""

    api_operations = ("list", "retrieve")

    feature = models.ForeignKey("billing.Feature", on_delete=models.PROTECT, related_name="+")
    limit = models.BigIntegerField(null=True, blank=True, validators=[MinValueValidator(0)],
                                   help_text="Empty: unlimited.")
    included = models.BigIntegerField(null=True, blank=True,
                                      validators=[MinValueValidator(0)],
                                      help_text="Empty: the plan's included amount.")
    enabled = models.BooleanField(default=True, help_text="For switches.")
    reason = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ("workspace", "feature")
        constraints = [models.UniqueConstraint(fields=["workspace", "feature"],
                                               name="billing_entitlement_unique")]

    def __str__(self) -> str:
        return f"{self.feature} override"


class TestClock(WorkspaceScoped, TimestampedModel):
    """A simulated "now" for one workspace's billing (trials, periods, invoices, dunning),
    advanced by staff or tests; workspaces without one use the real time."""

    __test__ = False  # not a pytest class
    api_operations = ("list", "retrieve")

    frozen_time = models.DateTimeField()
    name = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ("workspace",)
        constraints = [models.UniqueConstraint(fields=["workspace"],
                                               name="billing_testclock_one_per_workspace")]

    def __str__(self) -> str:
        return f"Test clock at {self.frozen_time:%Y-%m-%d %H:%M}"
