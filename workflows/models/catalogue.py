"""The node catalogue: a read-only mirror of the node types registered in code.

``workflows.nodes`` is the registry (one class per node type); these rows are
rewritten from it after every ``migrate`` so the API and admin can list, filter
and document node types like any other resource.
"""

from django.db import models


class NodeCategory(models.Model):
    append_only = True  # written from the code registry only
    catalogue = True  # readable by every signed-in caller, not workspace-owned

    key = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in pickers.")

    class Meta:
        ordering = ("position", "key")
        verbose_name_plural = "node categories"

    def __str__(self) -> str:
        return self.name


class NodeType(models.Model):
    append_only = True
    catalogue = True

    key = models.CharField(max_length=64, unique=True, help_text="e.g. http_request")
    category = models.ForeignKey(NodeCategory, on_delete=models.PROTECT,
                                 related_name="node_types")
    name = models.CharField(max_length=80)
    description = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    config_schema = models.JSONField(default=dict, blank=True,
                                     help_text="JSON Schema of a node's config.")
    inputs = models.JSONField(default=list, blank=True, help_text="Input port names.")
    outputs = models.JSONField(default=list, blank=True, help_text="Output port names.")
    is_trigger = models.BooleanField(default=False,
                                     help_text="An entry point: executions start here.")
    side_effects = models.BooleanField(
        default=False, help_text="Acts on the outside world; gets an idempotency key "
                                 "per execution, node and attempt.")

    class Meta:
        ordering = ("category__position", "key")

    def __str__(self) -> str:
        return self.name
