"""Invoices and their lines.  Amounts are integer minor units, each computed in Decimal
and rounded once (the rule is ``billing.money.to_minor``)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django_fsm import FSMField, transition

from core.models import TimestampedModel
from core.tenancy import ADMIN, WorkspaceScoped

from .common import currency_field, minor_units, same_workspace, validate_object


class Invoice(WorkspaceScoped, TimestampedModel):
    """A bill for one subscription period (or a one-off); numbered when finalised."""

    tenancy_write_role = ADMIN
    api_operations = ("list", "retrieve")

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        PAID = "paid", "Paid"
        VOID = "void", "Void"
        UNCOLLECTIBLE = "uncollectible", "Uncollectible"

    S = Status

    subscription = models.ForeignKey("billing.Subscription", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="invoices")
    customer = models.ForeignKey("billing.PaymentCustomer", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="invoices")
    issuer = models.ForeignKey("billing.IssuingAccount", on_delete=models.PROTECT,
                               related_name="invoices")
    number = models.CharField(max_length=40, blank=True, editable=False,
                              help_text="Given when finalised: prefix + gapless sequence.")
    sequence = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    status = FSMField(max_length=14, choices=Status.choices, default=Status.DRAFT,
                      protected=False, editable=False)
    currency = currency_field()
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    subtotal = minor_units("Sum of the lines before discounts and tax.")
    discount = minor_units("Coupon discounts.")
    tax_rate = models.DecimalField(max_digits=6, decimal_places=3, default=0)
    tax = minor_units()
    total = minor_units("Subtotal - discount + tax.")
    credits_applied = minor_units("Paid from the credit balance.")
    amount_due = minor_units("Total - credits applied.")
    amount_paid = minor_units()
    issued_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    payment_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    next_payment_attempt = models.DateTimeField(null=True, blank=True, editable=False)
    last_payment_error = models.CharField(max_length=300, blank=True, editable=False)
    external_id = models.CharField(max_length=120, blank=True, editable=False,
                                   help_text="The payment's id at the provider.")
    memo = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True, validators=[validate_object])

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            # Exactly one invoice per subscription and period, however often generation
            # runs (void ones excepted, so a voided period can be billed again).
            models.UniqueConstraint(fields=["subscription", "period_start"],
                                    condition=Q(subscription__isnull=False)
                                    & ~Q(status="void"),
                                    name="billing_invoice_one_per_period"),
            models.UniqueConstraint(fields=["issuer", "sequence"],
                                    condition=Q(sequence__isnull=False),
                                    name="billing_invoice_unique_sequence"),
        ]
        indexes = [models.Index(fields=["status", "next_payment_attempt"],
                                name="billing_invoice_dunning_idx")]

    def __str__(self) -> str:
        return self.number or f"Draft invoice {self.pk}"

    def clean(self):
        same_workspace(self, "subscription", "customer")

    @transition(field=status, source=Status.DRAFT, target=Status.OPEN)
    def finalize(self):
        pass

    @transition(field=status, source=[Status.OPEN, Status.UNCOLLECTIBLE], target=Status.PAID)
    def mark_paid(self):
        pass

    @transition(field=status, source=[Status.DRAFT, Status.OPEN, Status.UNCOLLECTIBLE],
                target=Status.VOID)
    def void(self):
        pass

    @transition(field=status, source=Status.OPEN, target=Status.UNCOLLECTIBLE)
    def mark_uncollectible(self):
        pass


class InvoiceLine(WorkspaceScoped, TimestampedModel):
    """One line.  Lines without an invoice are pending (e.g. a proration): the next
    invoice of their subscription takes them."""

    append_only = True  # written by billing's services only

    class Kind(models.TextChoices):
        SUBSCRIPTION = "subscription", "Subscription fee"
        PRORATION = "proration", "Proration"
        USAGE = "usage", "Usage above the included amount"
        DISCOUNT = "discount", "Coupon"
        CREDIT = "credit", "Credits applied"
        ONE_OFF = "one_off", "One-off charge"

    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="lines")
    subscription = models.ForeignKey("billing.Subscription", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="lines")
    kind = models.CharField(max_length=14, choices=Kind.choices)
    description = models.CharField(max_length=300)
    metric = models.CharField(max_length=60, blank=True)
    quantity = models.DecimalField(max_digits=20, decimal_places=6, default=1)
    unit_amount = models.DecimalField(max_digits=20, decimal_places=6, default=0,
                                      help_text="Minor units per unit (may be fractional).")
    amount = minor_units("Signed: credits and discounts are negative.")
    currency = currency_field()
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True, validators=[validate_object])

    class Meta:
        ordering = ("invoice", "id")
        indexes = [models.Index(fields=["subscription", "invoice"],
                                name="billing_line_pending_idx")]

    def __str__(self) -> str:
        return self.description
