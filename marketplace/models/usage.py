"""What users and workspaces do with the catalogue: rate, buy, install, download.

Roles: buying spends the workspace's money, so it needs a workspace **admin** (as a
subscription change does); installing and upgrading create or change a draft workflow,
which any **member** may do.  Ratings are personal (one per user and component).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from billing.models.common import currency_field, minor_units
from core.models import TimestampedModel
from core.tenancy import ADMIN, MEMBER, WorkspaceScoped

from .catalogue import ComponentVersion, MarketplaceComponent


class ComponentRating(TimestampedModel):
    """A user's score of a component (1 to 5), one per user and component; the
    component's average and count are recomputed under its row lock on every change."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+", editable=False)
    component = models.ForeignKey(MarketplaceComponent, on_delete=models.CASCADE,
                                  related_name="ratings")
    score = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)], help_text="1 (poor) to 5.")
    comment = models.TextField(blank=True, max_length=4000)

    class Meta:
        ordering = ("-updated_at", "-id")
        constraints = [models.UniqueConstraint(fields=["user", "component"],
                                               name="marketplace_rating_one_per_user")]

    def __str__(self) -> str:
        return f"{self.component}: {self.score}/5"


class ComponentPurchase(WorkspaceScoped, TimestampedModel):
    """A workspace bought a paid component (once: buying again charges nothing)."""

    tenancy_write_role = ADMIN
    api_operations = ("list", "retrieve", "create")

    class Method(models.TextChoices):
        CREDITS = "credits", "Credits (taken from the balance now)"
        INVOICE = "invoice", "Invoice (a line on the subscription's next invoice)"

    class Status(models.TextChoices):
        PAID = "paid", "Paid with credits"
        INVOICED = "invoiced", "Charged on the next invoice"

    component = models.ForeignKey(MarketplaceComponent, on_delete=models.PROTECT,
                                  related_name="purchases")
    price_paid = minor_units("The component's price when bought (minor units).")
    currency = currency_field()
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.CREDITS)
    status = models.CharField(max_length=8, choices=Status.choices, editable=False)
    credits_spent = models.DecimalField(max_digits=18, decimal_places=4, default=0,
                                        editable=False,
                                        help_text="Credits taken (method credits).")
    credit_transaction = models.ForeignKey(
        "billing.CreditTransaction", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", editable=False, help_text="The ledger row that paid it.")
    invoice_line = models.ForeignKey(
        "billing.InvoiceLine", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", editable=False, help_text="The pending invoice line charging it.")
    purchased_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+",
                                     editable=False)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [models.UniqueConstraint(fields=["workspace", "component"],
                                               name="marketplace_purchase_once")]

    def __str__(self) -> str:
        return f"{self.component} for {self.workspace}"


class ComponentInstallation(WorkspaceScoped, TimestampedModel):
    """A component installed in a workspace: the draft workflow it created, and the
    version that workflow's graph came from."""

    tenancy_write_role = MEMBER
    api_operations = ("list", "retrieve")  # made by the install action, moved by upgrade

    component = models.ForeignKey(MarketplaceComponent, on_delete=models.PROTECT,
                                  related_name="installations")
    version = models.ForeignKey(ComponentVersion, on_delete=models.PROTECT,
                                related_name="installations")
    workflow = models.ForeignKey("workflows.Workflow", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+",
                                 help_text="The workflow it created (empty once deleted).")
    installed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+",
                                     editable=False)
    upgraded_at = models.DateTimeField(null=True, blank=True, editable=False)
    draft_checksum = models.CharField(
        max_length=64, blank=True, editable=False,
        help_text="SHA-256 of the workflow's draft graph as installed: an upgrade over a "
                  "draft edited since then needs force.")

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.component} {self.version.version} in {self.workspace}"


class ComponentDownload(WorkspaceScoped):
    """One install or upgrade, as it happened (the download log)."""

    append_only = True

    class Kind(models.TextChoices):
        INSTALL = "install", "Install"
        UPGRADE = "upgrade", "Upgrade"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    component = models.ForeignKey(MarketplaceComponent, on_delete=models.CASCADE,
                                  related_name="downloads")
    version = models.ForeignKey(ComponentVersion, on_delete=models.CASCADE,
                                related_name="downloads")
    installation = models.ForeignKey(ComponentInstallation, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="downloads")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    from_version = models.CharField(max_length=64, blank=True,
                                    help_text="For upgrades: the version replaced.")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.version}"
