"""End to end on the test clock: a Stripe-paying workspace's period ends, its invoice
(with credits applied) is collected off-session, the declined card makes the subscription
past due, and the retry after the customer fixes the card pays it and recovers."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from billing.models import Invoice, PaymentProvider, Subscription
from billing.services import credits, payments
from billing.services.clock import advance_clock
from billing.services.subscriptions import subscribe
from tests import factories as f

from .h4_support import stripe_api, stripe_settings

FIXTURES = (stripe_api, stripe_settings)
pytestmark = pytest.mark.django_db


def test_a_period_is_invoiced_collected_dunned_and_recovered(
        stripe_api, stripe_settings, issuer, django_capture_on_commit_callbacks):
    stripe_settings.BILLING_CREDIT_VALUE_MINOR = 100
    provider = f.PaymentProviderFactory(kind=PaymentProvider.Kind.STRIPE, is_default=True,
                                        api_base=stripe_api.url())
    staff = f.UserFactory(is_staff=True, is_superuser=True)
    start = timezone.now().replace(microsecond=0)
    ws = f.WorkspaceFactory()
    f.MembershipFactory(workspace=ws, role="owner")
    f.TestClockFactory(workspace=ws, frozen_time=start)
    customer = f.PaymentCustomerFactory(workspace=ws, provider=provider)
    payments.customer_sync(customer)
    method = f.PaymentMethodFactory(workspace=ws, customer=customer, provider=provider,
                                    external_id="pm_card_chargeDeclined", is_default=True)
    credits.topup(ws.pk, 10, reference="pay_credits")  # worth 1000 cents
    plan = f.PlanFactory(price=3000, currency="USD", trial_days=0)
    sub = subscribe(workspace=ws, plan=plan, by=staff, trial=False)

    with django_capture_on_commit_callbacks(execute=True):
        advance_clock(ws, sub.current_period_end + timedelta(hours=1), staff)

    invoice = Invoice.objects.get(subscription=sub)
    assert invoice.credits_applied == 1000 and invoice.amount_due == 2000
    assert credits.balance(ws.pk) == Decimal(0)
    [charge] = stripe_api.calls("/v1/payment_intents")
    assert charge["params"]["amount"] == "2000"
    assert invoice.status == Invoice.Status.OPEN and invoice.payment_attempts == 1
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.PAST_DUE
    assert any("Payment failed" in m.subject for m in mail.outbox)

    method.external_id = "pm_card_visa"
    method.save()
    with django_capture_on_commit_callbacks(execute=True):
        advance_clock(ws, invoice.next_payment_attempt + timedelta(minutes=1), staff)

    invoice.refresh_from_db()
    sub.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and invoice.amount_paid == 2000
    assert sub.status == Subscription.Status.ACTIVE and sub.past_due_since is None
    assert stripe_api.charges == 2
