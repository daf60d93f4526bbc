"""Provider events, each applied exactly once.

``receive_stripe(body, signature)``:

1. verifies ``Stripe-Signature`` with the SDK (``stripe.Webhook.construct_event`` and
   ``settings.STRIPE_WEBHOOK_SECRET``): a bad or missing signature, or a stale timestamp,
   is a 400 and nothing is stored;
2. stores the event as a ``BillingEvent`` (unique by provider and event id): a delivery of
   an event already stored changes nothing and answers 200 (Stripe delivers at least once
   and retries until it gets a 2xx);
3. applies it in the same transaction, so the row and its effect commit together.  An
   event whose processing broke is kept as ``failed`` (effects rolled back) and a later
   delivery of it is processed again.

Out of order: a ``payment_intent.payment_failed`` never un-pays an invoice, and one older
(by the event's ``created`` time) than the last payment event applied to the invoice is
ignored; a ``payment_intent.succeeded`` is applied whenever it arrives (money was
collected).  See ``billing.services.payments.handle_payment_*``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import stripe as stripe_sdk
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.api.errors import ApiError

from ..models import BillingEvent, Invoice, PaymentProvider

log = logging.getLogger(__name__)

#: A Stripe event is a few kilobytes; anything far larger is not one.
MAX_BODY_BYTES = 512 * 1024
S = BillingEvent.Status


@dataclass
class Outcome:
    event: BillingEvent
    duplicate: bool

    def body(self) -> dict:
        return {"received": True, "event": self.event.event_id,
                "status": self.event.status, "duplicate": self.duplicate}


def stripe_provider() -> PaymentProvider | None:
    return (PaymentProvider.objects.filter(kind=PaymentProvider.Kind.STRIPE, is_active=True)
            .order_by("-is_default", "code").first())


def verify_stripe(body: bytes, signature: str) -> dict:
    """The verified event as a dict, or ApiError 400 (or 503 without a secret)."""
    secret = getattr(settings, "STRIPE_WEBHOOK_SECRET", "")
    if not secret:
        raise ApiError(503, "not_configured", "Stripe webhooks are not configured "
                                              "(STRIPE_WEBHOOK_SECRET is not set).")
    refused = ApiError(400, "invalid_signature", "The Stripe-Signature header does not "
                                                 "verify this payload.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise refused from None
    try:
        # The signature first, for every body: garbage is refused as unsigned.
        stripe_sdk.WebhookSignature.verify_header(text, signature or "", secret,
                                                  stripe_sdk.Webhook.DEFAULT_TOLERANCE)
    except stripe_sdk.SignatureVerificationError:
        raise refused from None
    try:
        event = json.loads(text)
    except ValueError:
        raise ApiError(400, "invalid", "The payload is not a JSON event.") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or \
            not isinstance(event.get("type"), str):
        raise ApiError(400, "invalid", "The payload is not a Stripe event (no id or type).")
    try:
        stripe_sdk.Webhook.construct_event(text, signature, secret)  # the SDK's own check
    except stripe_sdk.SignatureVerificationError:
        raise refused from None
    except Exception:  # an event the SDK cannot build is not one we can trust
        raise ApiError(400, "invalid", "The payload is not a Stripe event.") from None
    return event


def _created(event: dict) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(event.get("created")), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def receive_stripe(body: bytes, signature: str) -> Outcome:
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(413, "too_large", f"The body is larger than this webhook accepts "
                                         f"({MAX_BODY_BYTES} bytes).")
    event = verify_stripe(body, signature)
    provider = stripe_provider()
    if provider is None:
        raise ApiError(503, "not_configured", "No active Stripe payment provider is "
                                              "configured to receive this event.")
    return store_and_apply(provider, event)


def store_and_apply(provider: PaymentProvider, event: dict) -> Outcome:
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = BillingEvent.objects.create(
                    provider=provider, event_id=event["id"][:120],
                    event_type=event["type"][:80], occurred_at=_created(event),
                    payload=event)
        except IntegrityError:
            row = (BillingEvent.objects.select_for_update()
                   .get(provider=provider, event_id=event["id"][:120]))
            if row.status != S.FAILED:
                return Outcome(row, duplicate=True)
            # A failed one (its effects rolled back) is processed again.
        try:
            with transaction.atomic():
                status, note = apply(row, event)
        except Exception as exc:  # kept as failed (its effects rolled back), retried later
            log.exception("Billing event %s (%s) failed", row.event_id, row.event_type)
            status, note = S.FAILED, f"{type(exc).__name__}: {exc}"
        row.status = status
        row.error = note[:300]
        row.processed_at = timezone.now()
        row.save(update_fields=["status", "error", "processed_at", "workspace", "updated_at"])
        return Outcome(row, duplicate=False)


HANDLED = ("payment_intent.succeeded", "payment_intent.payment_failed")


def apply(row: BillingEvent, event: dict) -> tuple[str, str]:
    """Apply one verified event; returns (status, note)."""
    from ..services import payments

    if row.event_type not in HANDLED:
        return S.IGNORED, "Not an event billing acts on."
    intent = ((event.get("data") or {}).get("object")) or {}
    metadata = intent.get("metadata") or {}
    try:
        invoice_id = int(metadata.get("invoice_id"))
    except (TypeError, ValueError):
        return S.IGNORED, "The payment names no invoice (metadata.invoice_id)."
    workspace_id = (Invoice.objects.filter(pk=invoice_id)
                    .values_list("workspace_id", flat=True).first())
    if workspace_id is None:
        return S.IGNORED, f"No invoice {invoice_id}."
    row.workspace_id = workspace_id
    intent_id = str(intent.get("id") or "")[:120]
    if row.event_type == "payment_intent.succeeded":
        result = payments.handle_payment_succeeded(
            invoice_id, external_id=intent_id,
            amount=int(intent.get("amount_received") or intent.get("amount") or 0),
            occurred_at=row.occurred_at)
    else:
        last = intent.get("last_payment_error") or {}
        result = payments.handle_payment_failed(
            invoice_id, external_id=intent_id,
            error=str(last.get("message") or "The payment failed.")[:250],
            decline_code=str(last.get("decline_code") or last.get("code") or "")[:60],
            occurred_at=row.occurred_at)
    if result == "processed":
        return S.PROCESSED, ""
    return S.IGNORED, "No effect: the invoice is past this event (paid, closed, or a " \
                      "newer payment event was applied)."
