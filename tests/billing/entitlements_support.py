"""Plans for entitlement tests: a plan with the given limits, a workspace subscribed to it."""

from __future__ import annotations

from billing.models import Plan, PlanFeature
from tests.factories import PlanFactory, PlanFeatureFactory, SubscriptionFactory

SWITCHES = ("knowledge_bases", "voice_calls")


def plan_with(features, *, is_default=False, **limits) -> Plan:
    """A plan setting ``limits`` ({key: limit}; for switches {key: True/False})."""
    plan = PlanFactory(is_default=is_default)
    for key, limit in limits.items():
        if key in SWITCHES:
            PlanFeatureFactory(plan=plan, feature=features[key], limit=None, enabled=limit)
        else:
            PlanFeatureFactory(plan=plan, feature=features[key], limit=limit)
    return plan


def subscribe(workspace, plan):
    return SubscriptionFactory(workspace=workspace, plan=plan)


def set_limit(plan: Plan, key: str, limit: int | None) -> None:
    """Staff edit the plan's value (takes effect at once: nothing is cached)."""
    PlanFeature.objects.filter(plan=plan, feature__key=key).update(limit=limit)
