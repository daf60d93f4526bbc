"""Append-only records: the credits ledger, usage records and provider events."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import TimestampedModel
from core.tenancy import WorkspaceScoped

from .common import validate_object


class CreditTransaction(WorkspaceScoped):
    """One movement of a workspace's credits; the balance is the last row's
    ``balance_after`` and never goes below zero."""

    append_only = True

    class Kind(models.TextChoices):
        TOPUP = "topup", "Top-up (paid)"
        GRANT = "grant", "Grant"
        CONSUMPTION = "consumption", "Consumption"
        HOLD = "hold", "Reserved for a call in progress"
        RELEASE = "release", "Reservation released"
        REFUND = "refund", "Refund"
        EXPIRY = "expiry", "Expiry"
        INVOICE = "invoice", "Applied to an invoice"
        ADJUSTMENT = "adjustment", "Adjustment by staff"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    amount = models.DecimalField(max_digits=18, decimal_places=4,
                                 help_text="Signed: additions positive, uses negative.")
    balance_after = models.DecimalField(max_digits=18, decimal_places=4)
    remaining = models.DecimalField(
        max_digits=18, decimal_places=4, null=True, blank=True, editable=False,
        help_text="For additions that expire: the part not yet used or expired.")
    expires_at = models.DateTimeField(null=True, blank=True)
    reference = models.CharField(max_length=120, blank=True,
                                 help_text="Idempotency key: one transaction per reference.")
    hold = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="settlements",
                             help_text="The hold a release or consumption settles.")
    source_type = models.CharField(max_length=60, blank=True, help_text="e.g. crm.call")
    source_id = models.CharField(max_length=64, blank=True)
    description = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ("-id",)
        constraints = [
            models.UniqueConstraint(fields=["workspace", "reference"],
                                    condition=~Q(reference=""),
                                    name="billing_credit_unique_reference"),
            models.CheckConstraint(condition=Q(balance_after__gte=0),
                                   name="billing_credit_balance_not_negative"),
        ]
        indexes = [models.Index(fields=["workspace", "-id"], name="billing_credit_latest_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount:+}"


class UsageRecord(WorkspaceScoped):
    """One usage event; re-sending the same ``transaction_id`` counts once."""

    append_only = True

    # No index of its own: (workspace, metric, occurred_at) serves every read, and each
    # extra index slows the ingestion of every event.
    metric = models.SlugField(max_length=60, db_index=False, help_text="e.g. executions, tokens.")
    quantity = models.BigIntegerField()
    transaction_id = models.CharField(max_length=120,
                                      help_text="The sender's id of the event (idempotency).")
    occurred_at = models.DateTimeField(help_text="When the usage happened (decides the "
                                       "billing period).")
    recorded_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=40, blank=True, help_text="Who reported it.")
    properties = models.JSONField(default=dict, blank=True, validators=[validate_object])

    class Meta:
        ordering = ("-occurred_at", "-id")
        constraints = [models.UniqueConstraint(fields=["workspace", "transaction_id"],
                                               name="billing_usage_unique_transaction")]
        indexes = [models.Index(fields=["workspace", "metric", "occurred_at"],
                                name="billing_usage_period_idx")]

    def __str__(self) -> str:
        return f"{self.metric} {self.quantity}"


class BillingEvent(TimestampedModel):
    """A provider webhook event, stored once by its id and applied at most once."""

    append_only = True

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (no effect, e.g. older than the state)"
        FAILED = "failed", "Failed"

    provider = models.ForeignKey("billing.PaymentProvider", on_delete=models.PROTECT,
                                 related_name="events")
    event_id = models.CharField(max_length=120)
    event_type = models.CharField(max_length=80)
    occurred_at = models.DateTimeField(null=True, blank=True,
                                       help_text="The provider's creation time.")
    workspace = models.ForeignKey(settings.TENANCY_WORKSPACE_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ("-id",)
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"],
                                               name="billing_event_unique")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"
