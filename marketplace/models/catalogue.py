"""The catalogue: components staff publish for every workspace, and their versions.

A version's ``sequence`` is its rank among the component's versions.  Publishing
refuses a version that is not greater (by semantic versioning) than every earlier one,
so ``sequence`` order is semver order and lists sort by it, never by the text
(``1.10.0`` comes after ``1.9.0``).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from billing.models.common import currency_field, minor_units
from core.models import TimestampedModel


def validate_tags(value) -> None:
    if not isinstance(value, list) or not all(isinstance(t, str) and t.strip()
                                              and len(t) <= 40 for t in value):
        raise ValidationError("A list of tags, each a non-empty text of at most 40 "
                              "characters.")
    if len(value) > 20:
        raise ValidationError("At most 20 tags.")


def validate_semver(value) -> None:
    import semver

    if not isinstance(value, str) or not semver.Version.is_valid(value):
        raise ValidationError(f"{value!r} is not a semantic version (MAJOR.MINOR.PATCH, "
                              "e.g. 1.4.0 or 2.0.0-beta.1; see semver.org).")


class MarketplaceComponent(TimestampedModel):
    """A packaged workflow staff curate; every signed-in caller reads published ones."""

    public_read = True  # staff write; clients read published and deprecated components

    class Kind(models.TextChoices):
        WORKFLOW = "workflow", "Workflow (installs as a draft workflow)"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft (staff only)"
        PUBLISHED = "published", "Published"
        DEPRECATED = "deprecated", "Deprecated (installed copies keep working; no new installs)"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, unique=True, help_text="Stable key in URLs.")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.WORKFLOW)
    description = models.TextField(blank=True)
    publisher = models.CharField(max_length=120, help_text="Who made it, as shown to buyers.")
    price = minor_units("Price in minor units (cents), paid once per workspace; 0 is free.",
                        validators=[MinValueValidator(0)])
    currency = currency_field()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    tags = models.JSONField(default=list, blank=True, validators=[validate_tags],
                            help_text='Labels for browsing, e.g. ["crm", "email"].')
    rating_average = models.DecimalField(
        max_digits=3, decimal_places=2, default=0, editable=False,
        help_text="Mean of the users' ratings (1 to 5); 0 while unrated.")
    rating_count = models.PositiveIntegerField(default=0, editable=False)
    downloads_count = models.PositiveIntegerField(
        default=0, editable=False, help_text="Installs and upgrades, all workspaces.")

    class Meta:
        ordering = ("name", "id")

    def __str__(self) -> str:
        return self.name

    @property
    def is_free(self) -> bool:
        return self.price == 0


class ComponentVersion(models.Model):
    """One release of a component: its payload is frozen; staff may only yank it."""

    public_read = True
    api_operations = ("list", "retrieve", "create")  # immutable once published

    component = models.ForeignKey(MarketplaceComponent, on_delete=models.PROTECT,
                                  related_name="versions")
    version = models.CharField(max_length=64, validators=[validate_semver],
                               help_text="Semantic version, greater than every earlier one.")
    sequence = models.PositiveIntegerField(
        editable=False, validators=[MinValueValidator(1), MaxValueValidator(1_000_000)],
        help_text="Rank among the component's versions (semver order).")
    changelog = models.TextField(blank=True)
    payload = models.JSONField(
        help_text="For workflow components: a workflow export "
                  "(workflows.services.definitions.workflow_export), checked at publish.")
    checksum = models.CharField(max_length=64, editable=False,
                                help_text="SHA-256 of the canonical payload.")
    published_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+",
                                     editable=False)
    yanked = models.BooleanField(default=False, editable=False,
                                 help_text="Withdrawn: no longer installed or upgraded to.")
    yanked_reason = models.CharField(max_length=300, blank=True, editable=False)

    class Meta:
        ordering = ("component", "-sequence")
        constraints = [
            models.UniqueConstraint(fields=["component", "version"],
                                    name="marketplace_version_unique"),
            models.UniqueConstraint(fields=["component", "sequence"],
                                    name="marketplace_version_unique_sequence"),
        ]

    def __str__(self) -> str:
        return f"{self.component} {self.version}"
