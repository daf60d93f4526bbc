"""The manual provider (bank transfer, pay by invoice): nothing external.  Invoices stay
open until staff mark them paid (``billing.services.invoices.mark_paid``); the default of
``make run`` and of any workspace without a provider."""

from __future__ import annotations

from .base import AttachedMethod, ChargeResult, ProviderAdapter


class ManualAdapter(ProviderAdapter):
    charges = False

    def ensure_customer(self, customer) -> str:
        return customer.external_id or ""

    def attach_payment_method(self, customer, token: str, *,
                              make_default: bool = False) -> AttachedMethod:
        return AttachedMethod(external_id=token, kind="bank_transfer")

    def detach_payment_method(self, method) -> None:
        return None

    def charge(self, invoice, *, attempt: int, payment_method=None) -> ChargeResult:
        return ChargeResult(status="pending")
