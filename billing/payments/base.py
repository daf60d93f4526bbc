"""What every payment provider adapter offers, and what it answers.

Adapters talk to the provider and nothing else: they never change invoice or
subscription state (``billing.services.payments`` does, from the ``ChargeResult``).
They never see a card number: payment methods are the provider's tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.api.errors import ApiError


class PaymentError(Exception):
    """A provider call failed.  ``code``: ``unavailable`` (network, timeout, 5xx, rate
    limit: trying again later may work), ``auth`` (our key is wrong), ``rejected`` (the
    provider refused the request, e.g. an unknown token), ``refused`` (the outbound guard),
    ``not_configured``, ``unsupported``.  ``message`` is safe to show and store."""

    def __init__(self, message: str, *, code: str, status: int | None = None,
                 retryable: bool = False):
        super().__init__(message)
        self.message = message[:300]
        self.code = code
        self.status = status
        self.retryable = retryable

    def as_api_error(self) -> ApiError:
        """The API's answer: 400 for a refused token, 502/503 for the provider's trouble;
        never a 500."""
        status = {"rejected": 400, "unsupported": 400, "not_configured": 503,
                  "unavailable": 503, "refused": 502, "auth": 502}.get(self.code, 502)
        return ApiError(status, f"payment_{self.code}", self.message,
                        errors={"provider": [self.message]})


@dataclass
class ChargeResult:
    """The outcome of one charge attempt.  ``status``: ``succeeded`` (money collected),
    ``failed`` (declined or needs the customer: dunning starts), ``pending`` (the provider
    is processing, or the manual provider: wait for a webhook or staff), ``error`` (we do
    not know: network trouble; the same attempt is tried again with the same idempotency
    key, so it never charges twice)."""

    status: str
    external_id: str = ""
    amount: int = 0
    error: str = ""
    decline_code: str = ""
    raw: dict = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


@dataclass
class AttachedMethod:
    """What the provider tells about a payment method token (display only)."""

    external_id: str
    kind: str = "card"
    brand: str = ""
    last4: str = ""
    exp_month: int | None = None
    exp_year: int | None = None


class ProviderAdapter:
    """The provider interface.  ``provider`` is the ``PaymentProvider`` row (or None for
    the built-in manual behaviour)."""

    #: Whether invoices are collected by charging (False: staff mark them paid).
    charges = False

    def __init__(self, provider):
        self.provider = provider

    def ensure_customer(self, customer) -> str:
        """The customer's id at the provider, created there when missing (stored on
        ``customer.external_id`` by the caller's service)."""
        raise NotImplementedError

    def attach_payment_method(self, customer, token: str, *,
                              make_default: bool = False) -> AttachedMethod:
        raise NotImplementedError

    def detach_payment_method(self, method) -> None:
        raise NotImplementedError

    def charge(self, invoice, *, attempt: int, payment_method=None) -> ChargeResult:
        """Try to collect ``invoice.amount_due`` once.  ``attempt`` names the idempotency
        key: the same invoice and attempt never charge twice."""
        raise NotImplementedError
