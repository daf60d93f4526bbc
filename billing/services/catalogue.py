"""The ``Feature`` table mirrors ``billing.features.FEATURES`` after every migrate."""

from __future__ import annotations

from django.db import transaction
from django.db.models import ProtectedError

from ..features import FEATURES
from ..models import Feature


def features_sync() -> dict:
    counts = {"created": 0, "updated": 0, "deleted": 0}
    with transaction.atomic():
        for spec in FEATURES.values():
            values = {"name": spec.name, "kind": spec.kind, "measure": spec.measure,
                      "unit": spec.unit, "description": spec.description}
            _, created = Feature.objects.update_or_create(key=spec.key, defaults=values)
            counts["created" if created else "updated"] += 1
    for stale in Feature.objects.exclude(key__in=list(FEATURES)):
        try:
            with transaction.atomic():
                stale.delete()
            counts["deleted"] += 1
        except ProtectedError:
            pass  # a plan still names it: kept until staff remove that value
    return counts


def features(keys=None) -> dict[str, Feature]:
    """The Feature rows by key (synced first if a key is missing, e.g. in a fresh test db)."""
    rows = {f.key: f for f in Feature.objects.all()}
    if any(k not in rows for k in (keys or FEATURES)):
        features_sync()
        rows = {f.key: f for f in Feature.objects.all()}
    return rows


def sync_after_migrate(sender, *, app_config=None, using="default", plan=None, **kwargs):
    if app_config is None or app_config.label != "billing":
        return
    if plan and all(backwards for _migration, backwards in plan):
        return
    features_sync()


def workspace_changed(workspace_id: int) -> None:
    """A workspace's plan values changed (override added, edited or removed): re-derive
    its plan fields and plan-driven features."""
    from .. import entitlements

    entitlements.sync_workspace(workspace_id)


def plan_changed(plan) -> None:
    """A plan's feature values changed: every workspace on it is re-synced (the checks
    themselves read the plan live, so a raised limit applies at once anyway)."""
    from ..models import Subscription

    live = (Subscription.objects.filter(plan=plan, status__in=Subscription.LIVE)
            .values_list("workspace_id", flat=True))
    for workspace_id in live:
        workspace_changed(workspace_id)
