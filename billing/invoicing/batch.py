"""Many period invoices at once: the beat's run over thousands of subscriptions.

The same invoices as ``generate.generate_for_period`` (the same ``draft_for``), written
set-wise, a chunk of subscriptions per transaction: the chunk's rows locked
(``FOR UPDATE``, in id order), the periods already invoiced skipped, what the lines
need read in a few queries for the whole chunk, a block of consecutive numbers taken
with one issuer lock, then invoices, lines, timeline entries inserted in bulk.  A
rollback returns the whole block of numbers, so the sequence stays gapless.

Subscriptions the set-wise path does not handle go through ``generate_for_period``
one by one after their chunk: those whose workspace holds credits (applying them is
``billing.services.credits``'s, per invoice) and a whole chunk that met the unique
constraint (a concurrent generator won somewhere: the single path sorts it out).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from core.api.errors import ApiError

from ..models import (
    CreditTransaction,
    Entitlement,
    Invoice,
    InvoiceLine,
    PaymentCustomer,
    Subscription,
    TestClock,
    UsageRecord,
)
from . import numbering
from .finalize import activity_fields, announce, stamp
from .generate import collect_many, default_issuer, generate_for_period
from .lines import Known, metered_features
from .totals import draft_for

log = logging.getLogger(__name__)
CHUNK = 250
S = Invoice.Status


def generate_many(due: list[tuple[int, datetime, datetime]]) -> int:
    """Invoice each ``(subscription id, period start, period end)``; how many were made."""
    created = 0
    for n in range(0, len(due), CHUNK):
        chunk = {pk: (start, end) for pk, start, end in due[n:n + CHUNK]}
        made, singles = _chunk(chunk)
        created += made
        for sub in singles:
            start, end = chunk[sub.pk]
            try:
                created += generate_for_period(sub, start, end) is not None
            except ApiError as exc:  # one subscription's refusal does not stop the run
                log.warning("Invoice of subscription %s not generated: %s", sub.pk,
                            exc.message)
    return created


def _locked(ids) -> list[Subscription]:
    invoiced = Invoice.objects.filter(subscription=OuterRef("pk"),
                                      period_start=OuterRef("current_period_start")
                                      ).exclude(status=S.VOID)
    frozen = TestClock.objects.filter(workspace_id=OuterRef("workspace_id"))
    return list(Subscription.objects.select_for_update(of=("self",))
                .select_related("plan", "coupon", "workspace").filter(pk__in=ids)
                .annotate(invoiced=Exists(invoiced),
                          frozen=Subquery(frozen.values("frozen_time")[:1]),
                          has_credits=Exists(CreditTransaction.objects.filter(
                              workspace_id=OuterRef("workspace_id"))))
                .order_by("pk"))


def _chunk(chunk: dict) -> tuple[int, list[Subscription]]:
    singles: list[Subscription] = []
    opened: list[Invoice] = []
    try:
        with transaction.atomic():
            todo = []
            for sub in _locked(list(chunk)):
                if sub.invoiced or sub.current_period_start != chunk[sub.pk][0]:
                    continue  # invoiced meanwhile (a renewal moved the period after it)
                (singles if sub.has_credits else todo).append(sub)
            invoices = _write(todo)
            opened = [i for i in invoices if i.status == S.OPEN]
    except IntegrityError:
        log.warning("Invoice batch met a concurrent generation; invoicing one by one.")
        return 0, [Subscription(pk=pk) for pk in chunk]
    if opened:
        transaction.on_commit(lambda: collect_many(opened))
    return len(invoices), singles


def _known(subs: list[Subscription]) -> dict[int, Known]:
    ws = [s.workspace_id for s in subs]
    customers = {c.workspace_id: c for c in PaymentCustomer.objects.filter(workspace_id__in=ws)}
    pending = defaultdict(list)
    for line in (InvoiceLine.objects.filter(subscription_id__in=[s.pk for s in subs],
                                            invoice__isnull=True).order_by("id")):
        pending[line.subscription_id].append(line)
    metered = [s for s in subs if metered_features(s.plan_id)]
    used: dict[int, dict[str, int]] = defaultdict(dict)
    overrides: dict[int, list] = defaultdict(list)
    if metered:
        periods = defaultdict(list)
        for s in metered:
            periods[(s.current_period_start, s.current_period_end)].append(s.workspace_id)
        for (start, end), ids in periods.items():
            rows = (UsageRecord.objects.filter(workspace_id__in=ids, occurred_at__gte=start,
                                               occurred_at__lt=end)
                    .values("workspace_id", "metric").annotate(total=Sum("quantity")))
            for row in rows:
                used[row["workspace_id"]][row["metric"]] = int(row["total"] or 0)
        earliest = min(s.current_period_start for s in metered)
        for row in (Entitlement.objects.filter(workspace_id__in=[s.workspace_id for s in metered],
                                               included__isnull=False)
                    .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=earliest))
                    .values("workspace_id", "feature_id", "included", "expires_at")):
            overrides[row["workspace_id"]].append(row)
    known = {}
    for s in subs:
        start, end = s.current_period_start, s.current_period_end
        known[s.pk] = Known(
            customer=customers.get(s.workspace_id),
            pending=[line for line in pending[s.pk]
                     if line.period_start is None or line.period_start < end],
            used=used[s.workspace_id],
            overrides={r["feature_id"]: r["included"] for r in overrides[s.workspace_id]
                       if r["expires_at"] is None or r["expires_at"] > start})
    return known


def _write(subs: list[Subscription]) -> list[Invoice]:
    from workspaces.models import Activity

    if not subs:
        return []
    known = _known(subs)
    issuer = default_issuer()
    drafts = [draft_for(s, s.current_period_start, s.current_period_end, known=known[s.pk])
              for s in subs]
    real_now = timezone.now()
    invoices = []
    for draft, (sequence, number) in zip(drafts, numbering.next_numbers(issuer, len(drafts)),
                                         strict=True):
        sub = draft.subscription
        invoice = Invoice(workspace=sub.workspace, subscription=sub, customer=draft.customer,
                          issuer=issuer, currency=draft.currency, period_start=draft.start,
                          period_end=draft.end, subtotal=draft.subtotal,
                          discount=draft.discount, tax_rate=draft.tax_rate, tax=draft.tax,
                          total=draft.total, amount_due=draft.total)
        stamp(invoice, sequence, number, now=sub.frozen or real_now)
        invoices.append(invoice)
    Invoice.objects.bulk_create(invoices)
    new, taken = [], []
    for draft, invoice in zip(drafts, invoices, strict=True):
        for line in draft.all_lines:
            line.invoice = invoice
            (taken if line.pk is not None else new).append(line)
        new += draft.carry_lines[1:]  # pending for the next invoice
    InvoiceLine.objects.bulk_create(new)
    if taken:
        InvoiceLine.objects.bulk_update(taken, ["invoice"])
    used = [d.subscription.pk for d in drafts if d.coupon_used]
    if used:
        Subscription.objects.filter(pk__in=used).update(
            coupon_periods_used=F("coupon_periods_used") + 1)
    Activity.objects.bulk_create([_activity(Activity, i) for i in invoices])
    for invoice in invoices:
        announce(invoice)
    return invoices


def _activity(model, invoice: Invoice):
    fields = activity_fields(invoice)
    target = fields.pop("target")
    return model(workspace_id=invoice.workspace_id, actor=None, verb=fields["verb"],
                 summary=fields["summary"][:300], data=fields["data"],
                 target_type=target._meta.label_lower, target_id=str(target.pk))
