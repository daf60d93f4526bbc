"""Stripe through the SDK against a local stand-in of its API: customers, payment
method tokens, paying an open invoice off-session with one idempotency key per attempt;
provider trouble never becomes a 500 nor a second charge."""

from datetime import timedelta

import pytest
from django.core import mail

from billing.models import Invoice, Subscription
from billing.payments import adapter_for
from billing.payments.stripe import client_for
from billing.services import payments
from core.api.errors import ApiError
from tests import factories as f

from .h4_support import billed_workspace, stripe_api, stripe_provider, stripe_settings

FIXTURES = (stripe_api, stripe_provider, stripe_settings)
pytestmark = pytest.mark.django_db


def test_a_customer_is_created_at_stripe_once(stripe_provider, stripe_api):
    customer = f.PaymentCustomerFactory(provider=stripe_provider, name="Acme",
                                        email="ap@acme.example")
    payments.customer_sync(customer)
    payments.customer_sync(customer)
    customer.refresh_from_db()
    assert customer.external_id.startswith("cus_")
    created = stripe_api.calls("/v1/customers")
    assert len(created) == 1
    assert created[0]["params"]["email"] == "ap@acme.example"
    assert created[0]["params"]["metadata"]["synapscale_workspace"] == str(customer.workspace_id)
    assert created[0]["headers"]["idempotency-key"] == f"synapscale-customer-{customer.pk}"


def test_collect_pays_an_open_invoice_off_session(stripe_provider, stripe_api):
    _ws, customer, method, _sub, invoice = billed_workspace(stripe_provider)
    result = payments.collect(invoice)
    assert result.status == "succeeded"
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert invoice.amount_paid == 3000 and invoice.payment_attempts == 1
    assert invoice.external_id.startswith("pi_") and invoice.next_payment_attempt is None
    [charge] = stripe_api.calls("/v1/payment_intents")
    params = charge["params"]
    assert params["amount"] == "3000" and params["currency"] == "usd"
    assert params["confirm"] == "true" and params["off_session"] == "true"
    assert params["customer"] == customer.external_id
    assert params["payment_method"] == method.external_id
    assert params["metadata"]["invoice_id"] == str(invoice.pk)
    assert charge["headers"]["idempotency-key"] == f"synapscale-invoice-{invoice.pk}-attempt-1"
    assert payments.collect(invoice).status == "skipped"  # paid: nothing more to collect
    assert stripe_api.charges == 1


def test_a_declined_card_is_a_failed_attempt_and_starts_dunning(stripe_provider, stripe_api):
    _ws, _customer, _method, sub, invoice = billed_workspace(stripe_provider,
                                                          token="pm_card_chargeDeclined")
    result = payments.collect(invoice)
    assert result.status == "failed" and result.decline_code == "generic_decline"
    invoice.refresh_from_db()
    sub.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN and invoice.payment_attempts == 1
    assert "declined" in invoice.last_payment_error
    assert invoice.next_payment_attempt is not None
    assert sub.status == Subscription.Status.PAST_DUE and sub.past_due_since is not None


def test_authentication_required_is_a_failure_not_a_payment(stripe_provider):
    _ws, _customer, _method, _sub, invoice = billed_workspace(
        stripe_provider, token="pm_card_authenticationRequired")
    assert payments.collect(invoice).status == "failed"
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN
    assert "authentication" in invoice.last_payment_error


def test_an_outage_keeps_the_attempt_so_the_retry_sends_the_same_key(stripe_provider,
                                                                     stripe_api):
    _ws, _customer, _method, sub, invoice = billed_workspace(stripe_provider)
    stripe_api.fail_next = [500]
    result = payments.collect(invoice)
    assert result.status == "error"
    invoice.refresh_from_db()
    sub.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN and invoice.payment_attempts == 0
    assert invoice.next_payment_attempt is not None
    assert sub.status == Subscription.Status.ACTIVE  # not the customer's failure
    assert mail.outbox == []
    assert payments.collect(invoice).status == "succeeded"
    keys = [r["headers"]["idempotency-key"] for r in stripe_api.calls("/v1/payment_intents")]
    assert keys == [f"synapscale-invoice-{invoice.pk}-attempt-1"] * 2


def test_an_answer_lost_after_stripe_charged_is_not_charged_twice(stripe_provider, stripe_api):
    """Stripe charged but our side never recorded it (the transaction rolled back): the
    next attempt carries the same key and Stripe answers from its record."""
    _ws, _customer, method, _sub, invoice = billed_workspace(stripe_provider)
    adapter = adapter_for(stripe_provider)
    first = adapter.charge(invoice, attempt=1, payment_method=method)  # "lost" answer
    assert first.succeeded
    assert payments.collect(invoice).status == "succeeded"
    assert stripe_api.charges == 1
    invoice.refresh_from_db()
    assert invoice.external_id == first.external_id


def test_a_slow_stripe_times_out_as_an_error_not_a_hang(stripe_provider, stripe_api):
    stripe_provider.config = {"timeout": 1}
    stripe_provider.save()
    _ws, _customer, _method, _sub, invoice = billed_workspace(stripe_provider)
    stripe_api.delay = 3
    result = payments.collect(invoice)
    assert result.status == "error"
    invoice.refresh_from_db()
    assert invoice.payment_attempts == 0 and "outcome unknown" in invoice.last_payment_error


def test_a_wrong_key_or_missing_key_is_reported_not_raised(stripe_provider, stripe_api,
                                                            settings):
    _ws, _customer, _method, _sub, invoice = billed_workspace(stripe_provider)
    settings.STRIPE_SECRET_KEY = "sk_test_wrong"
    assert payments.collect(invoice).status == "error"
    settings.STRIPE_SECRET_KEY = ""
    assert payments.collect(invoice).status == "error"
    invoice.refresh_from_db()
    assert "STRIPE_SECRET_KEY" in invoice.last_payment_error
    assert stripe_api.charges == 0


def test_an_internal_api_base_needs_the_allow_list(stripe_provider, settings):
    settings.BILLING_PROVIDER_ALLOWED_HOSTS = []
    with pytest.raises(Exception) as caught:
        client_for(stripe_provider)
    assert "BILLING_PROVIDER_ALLOWED_HOSTS" in str(caught.value)
    assert caught.value.code == "refused"
    assert caught.value.as_api_error().status_code == 502


def test_attaching_a_token_copies_what_stripe_shows(stripe_provider, stripe_api):
    customer = f.PaymentCustomerFactory(provider=stripe_provider)
    method = f.PaymentMethodFactory.build(workspace=customer.workspace, customer=customer,
                                          provider=stripe_provider, external_id="pm_card_visa",
                                          brand="", last4="", exp_month=None, exp_year=None,
                                          is_default=True)
    payments.method_attach(method)
    assert (method.brand, method.last4, method.exp_month) == ("visa", "4242", 12)
    attach = stripe_api.calls("/v1/payment_methods/pm_card_visa/attach")
    assert attach and attach[0]["params"]["customer"] == customer.external_id
    default = stripe_api.calls(f"/v1/customers/{customer.external_id}")
    assert default[-1]["params"]["invoice_settings"]["default_payment_method"] == "pm_card_visa"


def test_an_unknown_token_is_refused_as_bad_input(stripe_provider):
    customer = f.PaymentCustomerFactory(provider=stripe_provider)
    method = f.PaymentMethodFactory.build(workspace=customer.workspace, customer=customer,
                                          provider=stripe_provider, external_id="pm_missing")
    with pytest.raises(Exception) as caught:
        payments.method_attach(method)
    error = caught.value.as_api_error()
    assert isinstance(error, ApiError) and error.status_code == 400
    assert "No such payment_method" in error.message


def test_a_retry_after_a_decline_uses_the_next_attempts_key(stripe_provider, stripe_api):
    _ws, _customer, method, sub, invoice = billed_workspace(stripe_provider,
                                                          token="pm_card_chargeDeclined")
    payments.collect(invoice)
    method.external_id = "pm_card_visa"
    method.save()
    invoice.refresh_from_db()
    assert payments.collect(invoice, now=invoice.next_payment_attempt + timedelta(minutes=1)
                            ).status == "succeeded"
    keys = [r["headers"]["idempotency-key"] for r in stripe_api.calls("/v1/payment_intents")]
    assert keys == [f"synapscale-invoice-{invoice.pk}-attempt-1",
                    f"synapscale-invoice-{invoice.pk}-attempt-2"]
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.ACTIVE and sub.past_due_since is None
