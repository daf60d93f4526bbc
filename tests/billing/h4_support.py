"""Fixtures of the credits and payments tests: the Stripe stand-in and a workspace with
an owner, a customer, a payment method, an active subscription and an open invoice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Invoice, PaymentProvider
from tests import factories as f

from .stripe_server import SECRET_KEY, WEBHOOK_SECRET, stripe_server


@pytest.fixture
def stripe_settings(settings):
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.BILLING_PROVIDER_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.BILLING_DUNNING_RETRY_DAYS = [1, 3, 5]
    settings.BILLING_GRACE_DAYS = 14
    return settings


@pytest.fixture
def stripe_api(stripe_settings):
    with stripe_server() as server:
        yield server


@pytest.fixture
def stripe_provider(db, stripe_api):
    return f.PaymentProviderFactory(code="stripe", name="Stripe", kind=PaymentProvider.Kind.STRIPE,
                                    api_base=stripe_api.url(), config={"timeout": 2})


def billed_workspace(provider, *, token="pm_card_visa", start=None):
    """A workspace with an owner, a customer at ``provider`` (synced when Stripe), a
    default payment method, an active subscription and its open invoice of 3000 cents."""
    start = start or timezone.now()
    owner = f.UserFactory(email=f"owner{f.UserFactory._meta.model.objects.count()}@example.com")
    workspace = f.WorkspaceFactory()
    f.MembershipFactory(workspace=workspace, user=owner, role="owner")
    customer = f.PaymentCustomerFactory(workspace=workspace, provider=provider,
                                        email="accounts@example.com")
    if provider.kind == PaymentProvider.Kind.STRIPE:
        from billing.services.payments import customer_sync

        customer_sync(customer)
    method = f.PaymentMethodFactory(workspace=workspace, customer=customer, provider=provider,
                                    external_id=token, is_default=True)
    sub = f.SubscriptionFactory(workspace=workspace, started_at=start,
                                current_period_start=start,
                                current_period_end=start + timedelta(days=30))
    invoice = f.InvoiceFactory(workspace=workspace, subscription=sub, customer=customer,
                               status=Invoice.Status.OPEN, number=f"INV-{workspace.pk}",
                               sequence=workspace.pk, total=3000, amount_due=3000,
                               issued_at=start)
    return workspace, customer, method, sub, invoice
