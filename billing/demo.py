"""Demo billing: three plans (Free is the default), the manual payment provider, an
issuing account, Acme Steel on a Pro trial with welcome credits, and Northwind AI on Free.

Idempotent: plans, provider and issuer are matched by code or name; a workspace that
already has a live subscription keeps it.
"""

from __future__ import annotations

from decimal import Decimal

from workspaces.models import Workspace

#: code -> (name, monthly price in cents, trial days, {feature: (limit, included, overage)})
PLANS = {
    "free": ("Free", 0, 0, {
        "executions_per_month": (1_000, 1_000, "0"), "tokens_per_month": (200_000, 200_000, "0"),
        "agents": (3, 0, "0"), "seats": (5, 0, "0"), "storage_bytes": (1 << 30, 0, "0"),
        "schedules": (5, 0, "0"), "knowledge_bases": (None, 0, "0"),
    }),
    "pro": ("Pro", 4_900, 14, {
        "executions_per_month": (50_000, 10_000, "0.2"),
        "tokens_per_month": (20_000_000, 5_000_000, "0.0004"),
        "agents": (25, 0, "0"), "seats": (20, 0, "0"), "storage_bytes": (20 << 30, 0, "0"),
        "schedules": (100, 0, "0"), "knowledge_bases": (None, 0, "0"),
        "voice_calls": (None, 0, "0"),
    }),
    "business": ("Business", 19_900, 14, {
        "executions_per_month": (None, 100_000, "0.1"),
        "tokens_per_month": (None, 50_000_000, "0.0003"),
        "agents": (None, 0, "0"), "seats": (100, 0, "0"), "storage_bytes": (200 << 30, 0, "0"),
        "schedules": (None, 0, "0"), "knowledge_bases": (None, 0, "0"),
        "voice_calls": (None, 0, "0"),
    }),
}
SUBSCRIPTIONS = {"acme-steel": "pro", "northwind-ai": "free"}
WELCOME_CREDITS = Decimal("500")


def seed(out) -> None:
    from billing.models import IssuingAccount, PaymentProvider, Subscription
    from billing.services import credits, subscriptions

    plans = _plans()
    PaymentProvider.objects.get_or_create(code="manual", defaults={
        "name": "Bank transfer (manual)", "kind": PaymentProvider.Kind.MANUAL,
        "is_default": True})
    IssuingAccount.objects.get_or_create(name="Synapscale (demo)", defaults={
        "legal_name": "Synapscale Demo Ltd", "address": "1 Example Street\n1000 Lisbon",
        "email": "billing@synapscale.example", "number_prefix": "DEMO-", "is_default": True,
        "bank_details": "IBAN PT50 0000 0000 0000 0000 0000 0 (demo)"})
    for slug, code in SUBSCRIPTIONS.items():
        workspace = Workspace.objects.filter(slug=slug).first()
        if workspace is None or Subscription.objects.filter(
                workspace=workspace, status__in=Subscription.LIVE).exists():
            continue
        subscriptions.subscribe(workspace=workspace, plan=plans[code])
        if code != "free":
            credits.grant(workspace.pk, WELCOME_CREDITS, reason="Welcome credits (demo)",
                          reference="demo-welcome")
    out.write("Demo billing: plans " + ", ".join(PLANS) + "; Acme Steel on a Pro trial "
              "with welcome credits, Northwind AI on Free; manual payments.")


def _plans():
    from billing.models import Plan, PlanFeature
    from billing.services.catalogue import features

    catalogue = features()
    plans = {}
    for position, (code, (name, price, trial, values)) in enumerate(PLANS.items()):
        plan, created = Plan.objects.get_or_create(code=code, defaults={
            "name": name, "price": price, "currency": "USD", "trial_days": trial,
            "is_default": code == "free", "sort_order": position,
            "description": f"The {name} plan (demo)."})
        if created:
            for key, (limit, included, overage) in values.items():
                PlanFeature.objects.create(plan=plan, feature=catalogue[key], limit=limit,
                                           included=included, overage_price=Decimal(overage),
                                           enabled=True)
        plans[code] = plan
    return plans
