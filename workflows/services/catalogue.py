"""The node catalogue tables, kept a mirror of the node types registered in code.

``catalogue_sync`` runs after every ``migrate`` (``post_migrate``, connected in
``WorkflowsConfig.ready``) and may run any time: it writes only what differs, so a
second run changes nothing.  Types and categories gone from the code are removed
(a category still referenced by a row kept elsewhere is left alone).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import ProtectedError

from ..models import NodeCategory, NodeType
from ..nodes import registry


def _type_fields(node_type, category: NodeCategory) -> dict:
    return {"category": category, "name": node_type.name,
            "description": node_type.description, "version": node_type.version,
            "config_schema": node_type.config_schema, "inputs": list(node_type.inputs),
            "outputs": list(node_type.outputs), "is_trigger": node_type.is_trigger,
            "side_effects": node_type.side_effects}


def _upsert(model, key: str, fields: dict, existing: dict) -> tuple:
    row = existing.get(key)
    if row is None:
        return model.objects.create(key=key, **fields), "created"
    changed = [name for name, value in fields.items() if getattr(row, name) != value]
    if changed:
        for name in changed:
            setattr(row, name, fields[name])
        row.save(update_fields=changed)
        return row, "updated"
    return row, None


@transaction.atomic
def catalogue_sync() -> dict:
    """Make NodeCategory/NodeType rows match the registry; counts of what changed."""
    counts = {"created": 0, "updated": 0, "deleted": 0}
    categories = {c.key: c for c in NodeCategory.objects.all()}
    rows = {}
    for position, (key, (name, description)) in enumerate(registry.CATEGORIES.items()):
        rows[key], change = _upsert(NodeCategory, key, {
            "name": name, "description": description, "position": position}, categories)
        if change:
            counts[change] += 1
    types = {t.key: t for t in NodeType.objects.all()}
    known = set()
    for node_type in registry.all_types():
        known.add(node_type.key)
        _row, change = _upsert(NodeType, node_type.key,
                               _type_fields(node_type, rows[node_type.category]), types)
        if change:
            counts[change] += 1
    counts["deleted"] += NodeType.objects.exclude(key__in=known).delete()[0]
    for category in NodeCategory.objects.exclude(key__in=rows):
        try:
            with transaction.atomic():
                category.delete()
            counts["deleted"] += 1
        except ProtectedError:
            pass
    return counts


def sync_after_migrate(sender, *, app_config=None, using="default", plan=None, **kwargs):
    """``post_migrate`` receiver: only once workflows' own tables exist."""
    if app_config is None or app_config.label != "workflows":
        return
    if plan is not None and all(backwards for _migration, backwards in plan) and plan:
        return  # migrating backwards: the tables may be going away
    catalogue_sync()
