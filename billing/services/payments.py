"""Collecting open invoices, and the outcome of payments wherever it is learnt (the
charge's answer, a provider webhook).

``collect(invoice)`` charges through the invoice's provider: the customer's, else the
subscription's, else the default active provider; none (or ``manual``): nothing is charged
and the invoice stays open until staff mark it paid.

One attempt at a time per invoice: the invoice row is locked for the attempt, and the
attempt number that names the provider's idempotency key is committed together with the
attempt's outcome.  An attempt whose outcome is unknown (network trouble) leaves the
number unchanged, so trying again sends the same key and the provider answers from its
record instead of charging twice.

Customers and payment methods: ``customer_sync`` creates the customer at the provider,
``method_attach`` attaches a provider token to it.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from core import events

from .. import clock
from ..events import INVOICE_PAID
from ..models import Invoice, PaymentCustomer, PaymentMethod, PaymentProvider
from ..payments import ChargeResult, PaymentError, adapter_for

log = logging.getLogger(__name__)

#: An attempt that ended in network trouble is tried again this much later.
UNKNOWN_OUTCOME_RETRY = timedelta(hours=1)


# --- which provider, customer and method --------------------------------------------------


def default_provider() -> PaymentProvider | None:
    return PaymentProvider.objects.filter(is_default=True, is_active=True).first()


def customer_of(workspace_id: int) -> PaymentCustomer | None:
    return (PaymentCustomer.objects.select_related("provider")
            .filter(workspace_id=workspace_id).first())


def provider_for(invoice: Invoice) -> PaymentProvider | None:
    customer = invoice.customer or customer_of(invoice.workspace_id)
    for candidate in (getattr(customer, "provider", None),
                      getattr(invoice.subscription, "provider", None) if
                      invoice.subscription_id else None):
        if candidate is not None and candidate.is_active:
            return candidate
    return default_provider()


def method_for(customer: PaymentCustomer, provider: PaymentProvider | None):
    if customer is None or provider is None:
        return None
    return (PaymentMethod.objects.filter(customer=customer, provider=provider)
            .order_by("-is_default", "-created_at").first())


def customer_sync(customer: PaymentCustomer) -> PaymentCustomer:
    """Make sure ``customer`` exists at its provider (no-op for manual); stores the id.
    Raises ``PaymentError`` (the API turns it into a 4xx/5xx body, never a 500)."""
    adapter = adapter_for(customer.provider)
    if not adapter.charges or customer.external_id:
        return customer
    external_id = adapter.ensure_customer(customer)
    PaymentCustomer.objects.filter(pk=customer.pk).update(external_id=external_id)
    customer.external_id = external_id
    return customer


def method_attach(method: PaymentMethod) -> PaymentMethod:
    """Attach the method's provider token to the customer at the provider and copy what
    the provider shows of it (brand, last 4 digits, expiry).  The caller saves."""
    adapter = adapter_for(method.provider)
    if not adapter.charges:
        return method
    customer = customer_sync(method.customer) if method.customer.provider_id == \
        method.provider_id else method.customer
    if not customer.external_id:
        customer.external_id = adapter.ensure_customer(customer)
        PaymentCustomer.objects.filter(pk=customer.pk).update(
            external_id=customer.external_id)
    attached = adapter.attach_payment_method(customer, method.external_id,
                                             make_default=method.is_default)
    method.external_id = attached.external_id
    method.kind = attached.kind or method.kind
    method.brand = attached.brand or method.brand
    method.last4 = attached.last4 or method.last4
    method.exp_month = attached.exp_month or method.exp_month
    method.exp_year = attached.exp_year or method.exp_year
    return method


def method_detach(method: PaymentMethod) -> None:
    adapter = adapter_for(method.provider)
    if adapter.charges:
        adapter.detach_payment_method(method)


# --- card numbers are never accepted ---------------------------------------------------------

#: 13 to 19 digits, optionally grouped by spaces or dashes: the shape of a card number.
CARD_NUMBER = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
CARD_NUMBER_REFUSAL = ("This looks like a card number. Send the provider's payment method "
                       "token (e.g. pm_… from Stripe.js) instead; card numbers are never "
                       "accepted or stored.")


def looks_like_card_number(value) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and \
        bool(CARD_NUMBER.search(str(value)))


def card_number_fields(data, prefix: str = "") -> list[str]:
    """Names of the fields (nested ones dotted) whose value looks like a card number: the
    API and the admin refuse them before anything is stored or sent."""
    found = []
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list | tuple):
        items = ((str(i), v) for i, v in enumerate(data))
    else:
        items = ()
    for key, value in items:
        name = f"{prefix}{key}"
        if isinstance(value, dict | list | tuple):
            found.extend(card_number_fields(value, f"{name}."))
        elif looks_like_card_number(value):
            found.append(name)
    return found


# --- collecting ------------------------------------------------------------------------------


def _outstanding(invoice: Invoice) -> int:
    return int(invoice.amount_due) - int(invoice.amount_paid)


def chargeable(invoice_ids: list[int]) -> list[Invoice]:
    """The open invoices among ``invoice_ids`` whose provider charges (not manual): the
    ones ``collect`` would try, found in three queries for a whole batch."""
    invoices = list(Invoice.objects.filter(pk__in=invoice_ids, status=Invoice.Status.OPEN)
                    .select_related("customer__provider", "subscription__provider"))
    missing = {i.workspace_id for i in invoices if i.customer_id is None}
    customers = {c.workspace_id: c for c in PaymentCustomer.objects.select_related("provider")
                 .filter(workspace_id__in=missing)}
    fallback = default_provider()
    due = []
    for invoice in invoices:
        customer = invoice.customer or customers.get(invoice.workspace_id)
        provider = next((p for p in (getattr(customer, "provider", None),
                                     getattr(invoice.subscription, "provider", None))
                         if p is not None and p.is_active), fallback)
        if adapter_for(provider).charges:
            due.append(invoice)
    return due


def collect(invoice: Invoice, *, now: datetime | None = None) -> ChargeResult:
    """Try to collect an open invoice once (called by invoice generation after finalising,
    and by dunning for retries).  Returns the attempt's result; ``skipped`` when there is
    nothing to collect (not open, nothing due, manual provider)."""
    with transaction.atomic():
        inv = (Invoice.objects.select_for_update(of=("self",))
               .select_related("customer", "customer__provider", "subscription",
                               "subscription__provider").get(pk=invoice.pk))
        at = now or clock.now(inv.workspace_id)
        if inv.status != Invoice.Status.OPEN or _outstanding(inv) <= 0:
            return ChargeResult(status="skipped")
        if inv.customer_id is None:
            inv.customer = customer_of(inv.workspace_id)
            if inv.customer is not None:
                inv.save(update_fields=["customer", "updated_at"])
        provider = provider_for(inv)
        adapter = adapter_for(provider)
        if not adapter.charges:
            return ChargeResult(status="skipped")  # manual: staff mark it paid
        if inv.customer is not None and not inv.customer.external_id:
            try:
                customer_sync(inv.customer)
            except PaymentError as error:
                return _unknown(inv, at, error.message)
        attempt = inv.payment_attempts + 1
        method = method_for(inv.customer, provider)
        result = adapter.charge(inv, attempt=attempt, payment_method=method)
        if result.status == "error":
            return _unknown(inv, at, result.error)
        inv.payment_attempts = attempt
        if result.external_id:
            inv.external_id = result.external_id
        inv.save(update_fields=["payment_attempts", "external_id", "updated_at"])
        if result.status == "succeeded":
            _record_intent(inv, result.external_id, "succeeded", at)
            paid(inv, amount=result.amount or _outstanding(inv), reference=result.external_id,
                 at=at)
        elif result.status == "failed":
            _record_intent(inv, result.external_id, "failed", at)
            from . import dunning

            dunning.payment_failed(inv, error=result.error or "The payment failed.",
                                   decline_code=result.decline_code, now=at)
        else:  # pending: the provider's webhook says how it ends
            _record_intent(inv, result.external_id, "pending", at)
            inv.next_payment_attempt = None
            inv.save(update_fields=["next_payment_attempt", "updated_at"])
        return result


def _unknown(inv: Invoice, at: datetime, error: str) -> ChargeResult:
    """The outcome is unknown or the provider unreachable: keep the attempt number (same
    idempotency key next time) and try again a little later.  Not a failure of the
    customer's payment: the subscription is not made past due for it."""
    inv.last_payment_error = f"Not attempted or outcome unknown: {error}"[:300]
    inv.next_payment_attempt = at + UNKNOWN_OUTCOME_RETRY
    inv.save(update_fields=["last_payment_error", "next_payment_attempt", "updated_at"])
    log.warning("Invoice %s: payment outcome unknown (%s); retry at %s", inv.pk, error,
                inv.next_payment_attempt)
    return ChargeResult(status="error", error=error)


def _record_intent(inv: Invoice, intent_id: str, status: str, at: datetime) -> None:
    """Remember each provider payment's outcome on the invoice, so a webhook telling the
    same outcome later changes nothing."""
    if not intent_id:
        return
    payments = dict(inv.metadata.get("payments") or {})
    payments[intent_id] = status
    inv.metadata = {**inv.metadata, "payments": payments}
    inv.save(update_fields=["metadata", "updated_at"])


def paid(inv: Invoice, *, amount: int, reference: str = "", at: datetime | None = None) -> None:
    """Mark an open (or uncollectible) invoice paid by the provider: through
    ``billing.services.invoices.mark_paid`` when it exists, else by the model's transition;
    then dunning stops and a past-due subscription recovers."""
    at = at or clock.now(inv.workspace_id)
    try:
        from .invoices import mark_paid
    except ImportError:
        mark_paid = None
    amount = max(1, min(int(amount), _outstanding(inv)))
    if mark_paid is not None:
        mark_paid(inv, None, amount=amount, reference=reference)
        inv.refresh_from_db()
    else:
        inv.mark_paid()
        inv.amount_paid = amount
        inv.paid_at = at
        inv.save(update_fields=["status", "amount_paid", "paid_at", "updated_at"])
        _activity(inv, "billing.invoice.paid",
                  f"Invoice {inv.number or inv.pk} paid ({amount} {inv.currency} minor units)")
        events.emit(INVOICE_PAID, {"invoice": inv.pk, "number": inv.number,
                                   "amount_paid": amount, "currency": inv.currency},
                    workspace_id=inv.workspace_id)
    inv.next_payment_attempt = None
    inv.last_payment_error = ""
    inv.save(update_fields=["next_payment_attempt", "last_payment_error", "updated_at"])
    from . import dunning

    dunning.payment_recovered(inv, now=at)


def _activity(inv: Invoice, verb: str, summary: str, data: dict | None = None) -> None:
    from workspaces.services.workspaces import activity_record

    activity_record(workspace=inv.workspace, actor=None, verb=verb, summary=summary,
                    target=inv, data=data or {})


# --- outcomes told by the provider (webhooks) --------------------------------------------------


def handle_payment_succeeded(invoice_id: int, *, external_id: str, amount: int,
                             occurred_at: datetime | None = None) -> str:
    """A provider says a payment of the invoice succeeded.  Applied whatever the order of
    delivery (money was collected); an invoice already paid is left alone.  Returns
    ``processed`` or ``ignored``."""
    with transaction.atomic():
        inv = Invoice.objects.select_for_update(of=("self",)).filter(pk=invoice_id).first()
        if inv is None:
            return "ignored"
        if inv.status not in (Invoice.Status.OPEN, Invoice.Status.UNCOLLECTIBLE):
            _record_intent(inv, external_id, "succeeded", occurred_at or timezone.now())
            return "ignored"
        at = clock.now(inv.workspace_id)
        _record_intent(inv, external_id, "succeeded", at)
        _note_event_time(inv, occurred_at)
        if external_id:
            inv.external_id = external_id
            inv.save(update_fields=["external_id", "updated_at"])
        paid(inv, amount=amount or _outstanding(inv), reference=external_id, at=at)
        return "processed"


def handle_payment_failed(invoice_id: int, *, external_id: str, error: str,
                          decline_code: str = "", occurred_at: datetime | None = None) -> str:
    """A provider says a payment of the invoice failed.  Never un-pays: ignored when the
    invoice is no longer open, when this payment's failure is already recorded (the
    charge's own answer told it), or when it is older than the last payment event applied
    (out-of-order delivery)."""
    with transaction.atomic():
        inv = Invoice.objects.select_for_update(of=("self",)).filter(pk=invoice_id).first()
        if inv is None or inv.status != Invoice.Status.OPEN:
            return "ignored"
        known = inv.metadata.get("payments") or {}
        if external_id and known.get(external_id) in ("failed", "succeeded"):
            return "ignored"
        last = inv.metadata.get("last_payment_event_at")
        if occurred_at is not None and last and _stamp(occurred_at) < last:
            return "ignored"
        at = clock.now(inv.workspace_id)
        if not external_id or external_id not in known:
            inv.payment_attempts += 1  # an attempt we did not start (e.g. the dashboard)
            inv.save(update_fields=["payment_attempts", "updated_at"])
        _record_intent(inv, external_id, "failed", at)
        _note_event_time(inv, occurred_at)
        if external_id:
            inv.external_id = external_id
            inv.save(update_fields=["external_id", "updated_at"])
        from . import dunning

        dunning.payment_failed(inv, error=error or "The payment failed.",
                               decline_code=decline_code, now=at)
        return "processed"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _note_event_time(inv: Invoice, occurred_at: datetime | None) -> None:
    if occurred_at is None:
        return
    stamp = _stamp(occurred_at)
    if stamp > (inv.metadata.get("last_payment_event_at") or ""):
        inv.metadata = {**inv.metadata, "last_payment_event_at": stamp}
        inv.save(update_fields=["metadata", "updated_at"])
