"""Stripe through the official SDK: customers, payment methods as tokens (``pm_…`` from
Stripe.js, attached to the customer; never a card number), and paying an open invoice
with a PaymentIntent created and confirmed off-session.

* ``StripeClient`` per provider: the key is ``settings.STRIPE_SECRET_KEY``; the API
  address is ``PaymentProvider.api_base`` when set (tests' local server, a proxy), checked
  by the outbound guard (internal hosts only when listed in
  ``BILLING_PROVIDER_ALLOWED_HOSTS``).
* Timeouts on every request (``config["timeout"]`` seconds, default 20).
* No network retries by the SDK: a retry is a new decision of ours (dunning), and each
  charge attempt carries the idempotency key ``synapscale-invoice-<id>-attempt-<n>``, so
  the same attempt sent twice (a crash after Stripe answered) is answered by Stripe from
  its record instead of charging again.
* Every SDK error becomes a ``PaymentError`` or a ``ChargeResult``: never an exception
  the API would answer with a 500.
"""

from __future__ import annotations

import logging

import stripe as stripe_sdk
from django.conf import settings

from core.outbound import OutboundError, OutboundRefused, check_url

from .base import AttachedMethod, ChargeResult, PaymentError, ProviderAdapter

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 20.0
ALLOWED_HOSTS_SETTING = "BILLING_PROVIDER_ALLOWED_HOSTS"


def _label(provider) -> str:
    return f"Payment provider “{provider.name}”" if provider is not None else "Stripe"


def client_for(provider) -> stripe_sdk.StripeClient:
    """A StripeClient for ``provider`` (PaymentError when it cannot be built)."""
    key = getattr(settings, "STRIPE_SECRET_KEY", "")
    if not key:
        raise PaymentError(f"{_label(provider)}: STRIPE_SECRET_KEY is not set.",
                           code="not_configured")
    config = (provider.config if provider is not None else {}) or {}
    try:
        timeout = min(max(float(config.get("timeout", DEFAULT_TIMEOUT)), 1.0), 120.0)
    except (TypeError, ValueError):
        timeout = DEFAULT_TIMEOUT
    api_base = ((provider.api_base if provider is not None else "") or "").strip().rstrip("/")
    addresses = {}
    if api_base:
        try:
            check_url(api_base, allowed_hosts=getattr(settings, ALLOWED_HOSTS_SETTING, ()),
                      setting=ALLOWED_HOSTS_SETTING)
        except OutboundRefused as exc:
            raise PaymentError(f"{_label(provider)}: {exc.message}", code="refused") from None
        except OutboundError as exc:
            raise PaymentError(f"{_label(provider)}: {exc.message}", code="unavailable",
                               retryable=exc.retryable) from None
        addresses = {"api": api_base}
    return stripe_sdk.StripeClient(
        key, base_addresses=addresses, max_network_retries=0,
        http_client=stripe_sdk.RequestsClient(timeout=timeout))


def _body_error(exc: stripe_sdk.StripeError) -> dict:
    body = exc.json_body if isinstance(getattr(exc, "json_body", None), dict) else {}
    error = body.get("error")
    return error if isinstance(error, dict) else {}


def _message(exc: stripe_sdk.StripeError) -> str:
    return (getattr(exc, "user_message", None) or _body_error(exc).get("message")
            or str(exc) or type(exc).__name__).strip()[:250]


def as_payment_error(exc: stripe_sdk.StripeError, provider) -> PaymentError:
    """The SDK's error as ours (message safe to show: Stripe's messages carry no key)."""
    label = _label(provider)
    status = getattr(exc, "http_status", None)
    text = f"{label}: {_message(exc)}"
    if isinstance(exc, stripe_sdk.AuthenticationError | stripe_sdk.PermissionError):
        return PaymentError(f"{label}: the API key was refused.", code="auth", status=status)
    if isinstance(exc, stripe_sdk.RateLimitError | stripe_sdk.APIConnectionError):
        return PaymentError(text, code="unavailable", status=status, retryable=True)
    if isinstance(exc, stripe_sdk.CardError | stripe_sdk.InvalidRequestError):
        return PaymentError(text, code="rejected", status=status)
    if isinstance(exc, stripe_sdk.IdempotencyError):
        return PaymentError(text, code="rejected", status=status)
    if status is not None and status < 500:
        return PaymentError(text, code="rejected", status=status)
    return PaymentError(text, code="unavailable", status=status, retryable=True)


def _get(obj, name, default=None):
    try:
        value = obj[name] if not hasattr(obj, "get") else obj.get(name, default)
    except (KeyError, TypeError, AttributeError):
        return default
    return default if value is None else value


class StripeAdapter(ProviderAdapter):
    charges = True

    def __init__(self, provider):
        super().__init__(provider)
        self._client = None

    @property
    def client(self) -> stripe_sdk.StripeClient:
        if self._client is None:
            self._client = client_for(self.provider)
        return self._client

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except stripe_sdk.StripeError as exc:
            raise as_payment_error(exc, self.provider) from None

    # --- customers and payment methods ---------------------------------------------------

    def ensure_customer(self, customer) -> str:
        if customer.external_id:
            return customer.external_id
        created = self._call(
            self.client.v1.customers.create,
            params={"name": customer.name, "email": customer.email,
                    "metadata": {"synapscale_customer": str(customer.pk),
                                 "synapscale_workspace": str(customer.workspace_id)}},
            options={"idempotency_key": f"synapscale-customer-{customer.pk}"})
        return created.id

    def attach_payment_method(self, customer, token: str, *,
                              make_default: bool = False) -> AttachedMethod:
        customer_id = self.ensure_customer(customer)
        method = self._call(self.client.v1.payment_methods.attach, token,
                            params={"customer": customer_id})
        if make_default:
            self.set_default(customer_id, method.id)
        card = _get(method, "card") or {}
        kind = _get(method, "type", "card")
        return AttachedMethod(external_id=method.id,
                              kind="sepa_debit" if kind == "sepa_debit" else "card",
                              brand=str(_get(card, "brand", ""))[:30],
                              last4=str(_get(card, "last4", ""))[:4],
                              exp_month=_get(card, "exp_month"), exp_year=_get(card, "exp_year"))

    def set_default(self, customer_id: str, method_id: str) -> None:
        self._call(self.client.v1.customers.update, customer_id,
                   params={"invoice_settings": {"default_payment_method": method_id}})

    def detach_payment_method(self, method) -> None:
        self._call(self.client.v1.payment_methods.detach, method.external_id)

    # --- paying an invoice ------------------------------------------------------------------

    def charge(self, invoice, *, attempt: int, payment_method=None) -> ChargeResult:
        customer = invoice.customer
        if customer is None or not customer.external_id:
            return ChargeResult(status="failed", error="The workspace has no customer at "
                                                       "Stripe to charge.")
        if payment_method is None:
            return ChargeResult(status="failed", error="The customer has no payment method.")
        params = {
            "amount": int(invoice.amount_due),
            "currency": invoice.currency.lower(),
            "customer": customer.external_id,
            "payment_method": payment_method.external_id,
            "confirm": True,
            "off_session": True,
            "description": f"Invoice {invoice.number or invoice.pk}",
            "metadata": {"invoice_id": str(invoice.pk),
                         "workspace_id": str(invoice.workspace_id),
                         "invoice_number": invoice.number, "attempt": str(attempt)},
        }
        key = f"synapscale-invoice-{invoice.pk}-attempt-{attempt}"
        try:
            intent = self.client.v1.payment_intents.create(
                params=params, options={"idempotency_key": key})
        except stripe_sdk.CardError as exc:
            detail = _body_error(exc)
            intent = detail.get("payment_intent") or {}
            return ChargeResult(status="failed", external_id=str(intent.get("id", ""))[:120],
                                error=_message(exc),
                                decline_code=str(detail.get("decline_code")
                                                 or detail.get("code") or "")[:60],
                                raw=detail)
        except stripe_sdk.InvalidRequestError as exc:
            # A detached or unusable payment method: retrying will not help until the
            # customer acts, so it counts as a failed attempt.
            return ChargeResult(status="failed", error=_message(exc),
                                decline_code=str(_body_error(exc).get("code") or "")[:60])
        except stripe_sdk.StripeError as exc:
            error = as_payment_error(exc, self.provider)
            log.warning("Stripe charge of invoice %s attempt %s: %s", invoice.pk, attempt,
                        error.message)
            return ChargeResult(status="error", error=error.message)
        except PaymentError as error:  # client_for: not configured, refused address
            return ChargeResult(status="error", error=error.message)
        return _intent_result(intent)


def _intent_result(intent) -> ChargeResult:
    status = _get(intent, "status", "")
    pid = str(_get(intent, "id", ""))[:120]
    if status == "succeeded":
        return ChargeResult(status="succeeded", external_id=pid,
                            amount=int(_get(intent, "amount_received", 0)
                                       or _get(intent, "amount", 0)))
    if status in ("processing", "requires_capture"):
        return ChargeResult(status="pending", external_id=pid)
    if status == "requires_action":
        return ChargeResult(status="failed", external_id=pid,
                            error="The payment needs the customer's authentication.",
                            decline_code="authentication_required")
    last = _get(intent, "last_payment_error") or {}
    return ChargeResult(status="failed", external_id=pid,
                        error=str(_get(last, "message", "") or f"Payment {status}.")[:250],
                        decline_code=str(_get(last, "decline_code", "")
                                         or _get(last, "code", ""))[:60])
