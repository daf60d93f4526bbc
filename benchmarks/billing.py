"""Billing on PostgreSQL: invoice generation for 10,000 subscriptions in one period run.

**Invoice generation**: ``BENCH_BILLING_SUBSCRIPTIONS`` (default 10,000) workspaces,
each with an active monthly subscription whose period ``[2025-01-01, 2025-02-01)`` has
ended, a payment customer (half with 20% tax), and usage records above the plan's
included executions for a third of them (so a usage line too).  Timed: one run of
``billing.services.invoices.generate_due(now=2025-02-01)``, what the beat task
``generate_due_invoices`` does: each subscription locked, its lines computed, the
invoice, lines, gapless number, timeline entry and events written, payment collection
asked (manual provider: nothing to charge), one transaction per invoice.  Then the
same run again, which must create nothing (idempotent), timed as well.

Target (the issue's): 10,000 invoices in under 60 s.  Figures are printed, never
asserted.  The subscriptions are made once per database and reused; their invoices
are deleted before each run (and the benchmark issuer's counter reset).

Alone: ``python -m benchmarks.billing`` (DATABASE_URL as for ``make bench``).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from decimal import Decimal

SUBSCRIPTIONS = int(os.environ.get("BENCH_BILLING_SUBSCRIPTIONS") or 10_000)
TARGET_SECONDS = 60.0
PREFIX = "bench-billing-"
PLAN_CODE = "bench-billing"
START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2025, 2, 1, tzinfo=UTC)


def _plan():
    from billing.models import Feature, Plan, PlanFeature
    from billing.services.catalogue import features

    plan, _ = Plan.objects.get_or_create(code=PLAN_CODE, defaults={
        "name": "Benchmark Pro", "price": 2900, "currency": "USD", "is_public": False})
    feature = features(["executions_per_month"])["executions_per_month"]
    assert isinstance(feature, Feature)
    PlanFeature.objects.get_or_create(plan=plan, feature=feature, defaults={
        "limit": None, "included": 1000, "overage_price": Decimal("0.2")})
    return plan


def _issuer():
    from billing.models import IssuingAccount

    issuer = IssuingAccount.objects.filter(is_default=True).first()
    if issuer is None:
        issuer = IssuingAccount.objects.create(name="Benchmark issuer", is_default=True,
                                               number_prefix="BENCH-")
    return issuer


def _prepare(plan) -> list[int]:
    """The benchmark's workspaces, subscriptions, customers and usage (made once)."""
    from django.db import transaction

    from billing.models import PaymentCustomer, Subscription, UsageRecord
    from workspaces.models import Workspace

    have = Workspace.objects.filter(slug__startswith=PREFIX).count()
    if have < SUBSCRIPTIONS:
        print(f"billing: making {SUBSCRIPTIONS - have} subscriptions...", flush=True)
        with transaction.atomic():
            made = Workspace.objects.bulk_create(
                [Workspace(name=f"Billing bench {n}", slug=f"{PREFIX}{n:06d}")
                 for n in range(have, SUBSCRIPTIONS)], batch_size=2000)
            Subscription.objects.bulk_create(
                [Subscription(workspace=w, plan=plan, status=Subscription.Status.ACTIVE,
                              started_at=START, current_period_start=START,
                              current_period_end=END) for w in made], batch_size=2000)
            PaymentCustomer.objects.bulk_create(
                [PaymentCustomer(workspace=w, name=w.name, email=f"billing@{w.slug}.example",
                                 tax_rate=Decimal("20") if n % 2 else Decimal("0"))
                 for n, w in enumerate(made)], batch_size=2000)
            UsageRecord.objects.bulk_create(
                [UsageRecord(workspace=w, metric="executions", quantity=1000 + 7 * n,
                             transaction_id=f"bench-{w.pk}", occurred_at=START)
                 for n, w in enumerate(made) if n % 3 == 0], batch_size=2000)
    ids = list(Workspace.objects.filter(slug__startswith=PREFIX).order_by("id")
               .values_list("id", flat=True)[:SUBSCRIPTIONS])
    # Back to the state before a run: the period not invoiced, nothing pending.
    subs = Subscription.objects.filter(workspace_id__in=ids)
    subs.update(status=Subscription.Status.ACTIVE, current_period_start=START,
                current_period_end=END, coupon=None, coupon_periods_used=0)
    return ids


def _reset(ids, issuer) -> None:
    from django.db import connection

    from billing.models import Invoice, InvoiceLine, IssuingAccount
    from workspaces.models import Activity

    InvoiceLine.objects.filter(workspace_id__in=ids).delete()
    Invoice.objects.filter(workspace_id__in=ids).delete()
    Activity.objects.filter(workspace_id__in=ids, verb__startswith="billing.invoice.").delete()
    if not Invoice.objects.filter(issuer=issuer).exists():
        IssuingAccount.objects.filter(pk=issuer.pk).update(next_number=1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE billing_invoice; ANALYZE billing_invoiceline; "
                       "ANALYZE billing_subscription; ANALYZE billing_usagerecord")


def run() -> list:
    from django.db import connection

    from billing.models import Invoice
    from billing.services import invoices

    from .timing import Result

    if connection.vendor != "postgresql":
        print("billing benchmark skipped: it needs PostgreSQL", flush=True)
        return []
    plan = _plan()
    issuer = _issuer()
    ids = _prepare(plan)
    _reset(ids, issuer)

    started = time.perf_counter()
    created = invoices.generate_due(now=END)
    seconds = time.perf_counter() - started

    again_started = time.perf_counter()
    again = invoices.generate_due(now=END)
    again_seconds = time.perf_counter() - again_started

    made = Invoice.objects.filter(workspace_id__in=ids)
    sequences = sorted(made.values_list("sequence", flat=True))
    gapless = sequences == list(range(sequences[0], sequences[0] + len(sequences))) \
        if sequences else False
    rate = created / seconds if seconds else 0.0
    figures = (f"{created:,} invoices in {seconds:.1f} s ({rate:,.0f}/s, target < "
               f"{TARGET_SECONDS:.0f} s); numbers gapless: {'yes' if gapless else 'NO'}; "
               f"second run: {again} created in {again_seconds:.1f} s")
    print(f"billing invoice generation: {figures}", flush=True)
    return [Result("billing: invoices for 10k subscriptions", figures,
                   seconds / TARGET_SECONDS, 1.0)]


def main() -> int:
    from .__main__ import standalone

    return standalone(run, "billing invoice generation")


if __name__ == "__main__":
    raise SystemExit(main())
