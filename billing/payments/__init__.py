"""Payment providers: one adapter per ``PaymentProvider.kind`` behind the interface in
``base``; ``adapter_for(provider)`` picks it.  Business rules (attempts, dunning, marking
invoices paid) live in ``billing.services.payments`` and ``billing.services.dunning``."""

from __future__ import annotations

from .base import ChargeResult, PaymentError, ProviderAdapter  # noqa: F401


def adapter_for(provider) -> ProviderAdapter:
    """The adapter of ``provider`` (None or an inactive one: the manual adapter, which
    charges nothing and leaves invoices open for staff)."""
    from ..models import PaymentProvider
    from .manual import ManualAdapter

    if provider is None or provider.kind == PaymentProvider.Kind.MANUAL:
        return ManualAdapter(provider)
    if provider.kind == PaymentProvider.Kind.STRIPE:
        from .stripe import StripeAdapter

        return StripeAdapter(provider)
    raise PaymentError(f"No adapter for provider kind {provider.kind!r}.", code="unsupported")
