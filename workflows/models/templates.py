"""Templates: published workflow versions and preset nodes others can install, with the
gallery's collections, favourites, reviews, ratings and installations.

A template belongs to the workspace that published it; ``visibility`` decides who else
sees it (``public``: every workspace, through the gallery).  Reviews, favourites and
installations are rows of the *acting* workspace pointing at a template that is its own
or public, so one tenant's opinions and installs never live in another's rows.

Templates never hold credential values: ``required_credentials`` names the vault secrets
(``secrets.NAME``) and user variables (``vars.NAME``) the graph reads, and publishing
refuses a graph in which a value of one of the workspace's secrets appears literally.
Writes go through ``workflows.services.templates``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.models import TimestampedModel
from core.tenancy import WorkspaceScoped

MAX_TAGS = 20
RATING_VALIDATORS = [MinValueValidator(1), MaxValueValidator(5)]


class Visibility(models.TextChoices):
    PRIVATE = "private", "Private (this workspace)"
    PUBLIC = "public", "Public (the gallery)"


def validate_tags(value) -> None:
    if not isinstance(value, list) or not all(isinstance(t, str) and t.strip() and len(t) <= 40
                                              for t in value):
        raise ValidationError("A list of tags, each a non-empty text of at most 40 "
                              "characters.")
    if len(value) > MAX_TAGS:
        raise ValidationError(f"At most {MAX_TAGS} tags.")


def _credentials_default() -> dict:
    return {"secrets": [], "variables": []}


def _rating_fields():
    return (
        models.DecimalField(max_digits=3, decimal_places=2, default=0, editable=False,
                            help_text="Mean of the ratings (0 with none), kept by the "
                                      "rating service."),
        models.PositiveIntegerField(default=0, editable=False,
                                    help_text="How many ratings the average is over."),
    )


class WorkflowTemplate(WorkspaceScoped, TimestampedModel):
    """A workflow version frozen for others to install as a new draft (n8n's templates)."""

    source_version = models.ForeignKey(
        "workflows.WorkflowVersion", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="templates", help_text="The published version the graph was taken from.")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=60, blank=True, db_index=True,
                                help_text="A gallery heading, e.g. sales, marketing, ops.")
    tags = models.JSONField(default=list, blank=True, validators=[validate_tags],
                            help_text='Free labels for the gallery, e.g. ["crm", "daily"].')
    visibility = models.CharField(max_length=8, choices=Visibility.choices,
                                  default=Visibility.PRIVATE, db_index=True)
    graph = models.JSONField(editable=False,
                             help_text="Nodes, connections and settings (the snapshot format).")
    checksum = models.CharField(max_length=64, editable=False)
    required_credentials = models.JSONField(
        default=_credentials_default, editable=False,
        help_text='Names only, never values: {"secrets": ["CRM_TOKEN"], "variables": '
                  '["REGION"]} the installing workspace (and its users) must create.')
    node_types = models.JSONField(default=list, editable=False,
                                  help_text="The node types the graph uses, sorted.")
    publisher = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    published_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    install_count = models.PositiveIntegerField(default=0, editable=False,
                                                help_text="Installations, all workspaces.")
    rating_average, rating_count = _rating_fields()

    class Meta:
        ordering = ("name", "id")
        constraints = [models.UniqueConstraint(fields=["workspace", "name"],
                                               name="workflows_template_unique_name")]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        version = self.source_version
        if version is not None and self.workspace_id and \
                version.workspace_id != self.workspace_id:
            raise ValidationError({"source_version": "This version belongs to another "
                                                     "workspace."})


class TemplateCollection(WorkspaceScoped, TimestampedModel):
    """A curated list of templates (the workspace's own or public ones)."""

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    templates = models.ManyToManyField(WorkflowTemplate, blank=True, related_name="collections")
    curated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ("name", "id")
        constraints = [models.UniqueConstraint(fields=["workspace", "name"],
                                               name="workflows_tcollection_unique_name")]

    def __str__(self) -> str:
        return self.name


class TemplateFavorite(WorkspaceScoped):
    """A user's bookmark of a template: one per user and template."""

    api_operations = ("list", "retrieve", "create", "delete")

    template = models.ForeignKey(WorkflowTemplate, on_delete=models.CASCADE,
                                 related_name="favorites")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [models.UniqueConstraint(fields=["template", "user"],
                                               name="workflows_tfavorite_one_per_user")]

    def __str__(self) -> str:
        return f"{self.user} ★ {self.template}"


class TemplateReview(WorkspaceScoped, TimestampedModel):
    """A user's rating (1 to 5) and comment of a template: one per user and template."""

    template = models.ForeignKey(WorkflowTemplate, on_delete=models.CASCADE,
                                 related_name="reviews")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    rating = models.PositiveSmallIntegerField(validators=RATING_VALIDATORS)
    comment = models.TextField(blank=True, max_length=5000)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["template", "user"],
                                    name="workflows_treview_one_per_user"),
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5),
                                   name="workflows_treview_rating_1_5",
                                   violation_error_message="Rate from 1 to 5."),
        ]

    def __str__(self) -> str:
        return f"{self.template}: {self.rating}/5 by {self.user}"


class TemplateInstallation(WorkspaceScoped):
    """A template installed into the acting workspace as a new draft workflow.

    Counts the template's installs, and links the workflow so its executions count as
    the template's usage.  Written by the install service only.
    """

    append_only = True

    template = models.ForeignKey(WorkflowTemplate, null=True, on_delete=models.SET_NULL,
                                 related_name="installations")
    template_name = models.CharField(max_length=120, help_text="As it was when installed.")
    workflow = models.ForeignKey("workflows.Workflow", null=True, on_delete=models.SET_NULL,
                                 related_name="template_installations")
    installed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    required_credentials = models.JSONField(
        default=_credentials_default,
        help_text="What the template needs (names): the installer creates these.")
    missing_secrets = models.JSONField(
        default=list, help_text="Required secrets the workspace did not have at install.")
    installed_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ("-installed_at", "-id")

    def __str__(self) -> str:
        return f"{self.template_name} → {self.workflow or 'a deleted workflow'}"


class NodeTemplate(WorkspaceScoped, TimestampedModel):
    """A preset node (type and config) applied to a draft workflow as a new node."""

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    node_type = models.CharField(max_length=64, help_text="A node type key, e.g. http_request.")
    config = models.JSONField(default=dict, blank=True,
                              help_text="The node's settings, checked against the type's "
                                        "JSON Schema; never a secret's value.")
    category = models.CharField(max_length=60, blank=True, db_index=True)
    visibility = models.CharField(max_length=8, choices=Visibility.choices,
                                  default=Visibility.PRIVATE, db_index=True)
    required_credentials = models.JSONField(
        default=_credentials_default, editable=False,
        help_text='Names only: {"secrets": [...], "variables": [...]}.')
    publisher = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    apply_count = models.PositiveIntegerField(default=0, editable=False,
                                              help_text="Nodes made from it, all workspaces.")
    rating_average, rating_count = _rating_fields()

    class Meta:
        ordering = ("name", "id")
        constraints = [models.UniqueConstraint(fields=["workspace", "name"],
                                               name="workflows_nodetemplate_unique_name")]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        from ..nodes import registry

        node_type = registry.find(self.node_type)
        if node_type is None:
            raise ValidationError({"node_type": f"No node type {self.node_type!r}; the "
                                                "catalogue lists them "
                                                "(/api/v1/workflows/node-types/)."})
        problems = registry.config_errors(node_type, self.config)
        if problems:
            raise ValidationError({"config": problems})


class NodeRating(WorkspaceScoped, TimestampedModel):
    """A user's rating (1 to 5) of a node template: one per user and node template."""

    node_template = models.ForeignKey(NodeTemplate, on_delete=models.CASCADE,
                                      related_name="ratings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    rating = models.PositiveSmallIntegerField(validators=RATING_VALIDATORS)
    comment = models.TextField(blank=True, max_length=5000)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["node_template", "user"],
                                    name="workflows_noderating_one_per_user"),
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5),
                                   name="workflows_noderating_rating_1_5",
                                   violation_error_message="Rate from 1 to 5."),
        ]

    def __str__(self) -> str:
        return f"{self.node_template}: {self.rating}/5 by {self.user}"
