"""Back office of the node catalogue: the read-only mirror of the node types in code."""

from django.contrib import admin
from django.utils.html import format_html

from core.admin.base import ReadOnlyModelAdmin

from .. import models as m
from ..rendering.spans import pretty_json


@admin.register(m.NodeCategory)
class NodeCategoryAdmin(ReadOnlyModelAdmin):
    list_display = ("name", "key", "position", "description")
    search_fields = ("name", "key")


@admin.register(m.NodeType)
class NodeTypeAdmin(ReadOnlyModelAdmin):
    list_display = ("name", "key", "category", "version", "is_trigger", "side_effects")
    list_select_related = ("category",)
    list_filter = ("category", "is_trigger", "side_effects")
    search_fields = ("name", "key")
    fields = ("key", "name", "category", "description", "version", "inputs", "outputs",
              "is_trigger", "side_effects", "schema")
    readonly_fields = ("schema",)

    @admin.display(description="config schema")
    def schema(self, node_type):
        text, _ = pretty_json(node_type.config_schema)
        return format_html('<pre class="wf-json">{}</pre>', text)
