"""Customers and payment methods through the API: workspace admins manage them, Stripe
customers and tokens are created at the (local) Stripe, provider trouble is a structured
error with nothing saved, and a card number is refused wherever it is sent."""

import pytest
from rest_framework.test import APIClient

from billing.models import PaymentCustomer, PaymentMethod
from tests import factories as f

from .h4_support import stripe_api, stripe_provider, stripe_settings

FIXTURES = (stripe_api, stripe_provider, stripe_settings)
pytestmark = pytest.mark.django_db
CUSTOMERS = "/api/v1/billing/customers/"
METHODS = "/api/v1/billing/payment-methods/"


def client_in(workspace, role):
    client = APIClient()
    client.force_login(f.MembershipFactory(workspace=workspace, role=role).user)
    return client


def test_an_admin_creates_the_customer_at_stripe(stripe_provider, stripe_api):
    ws = f.WorkspaceFactory()
    body = {"workspace": ws.pk, "provider": stripe_provider.pk, "name": "Acme",
            "email": "ap@acme.example", "currency": "EUR", "tax_rate": "23.000"}
    assert client_in(ws, "member").post(CUSTOMERS, body, format="json").status_code == 403
    response = client_in(ws, "admin").post(CUSTOMERS, body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["external_id"].startswith("cus_")
    assert len(stripe_api.calls("/v1/customers")) == 1


def test_a_stripe_outage_is_a_503_and_nothing_is_saved(stripe_provider, stripe_api):
    ws = f.WorkspaceFactory()
    stripe_api.fail_next = [503]
    response = client_in(ws, "owner").post(
        CUSTOMERS, {"workspace": ws.pk, "provider": stripe_provider.pk, "name": "Acme",
                    "email": "ap@acme.example"}, format="json")
    assert response.status_code == 503
    assert response.json()["code"] == "payment_unavailable"
    assert not PaymentCustomer.objects.filter(workspace=ws).exists()


def test_a_manual_customer_needs_nothing_external(stripe_api):
    ws = f.WorkspaceFactory()
    manual = f.PaymentProviderFactory()
    response = client_in(ws, "admin").post(
        CUSTOMERS, {"workspace": ws.pk, "provider": manual.pk, "name": "Acme",
                    "email": "ap@acme.example"}, format="json")
    assert response.status_code == 201 and response.json()["external_id"] == ""
    assert stripe_api.requests == []


def test_a_token_is_attached_and_described_by_stripe(stripe_provider, stripe_api):
    customer = f.PaymentCustomerFactory(provider=stripe_provider)
    client = client_in(customer.workspace, "admin")
    response = client.post(METHODS, {"workspace": customer.workspace_id,
                                     "customer": customer.pk, "provider": stripe_provider.pk,
                                     "external_id": "pm_card_visa", "is_default": True},
                           format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["brand"], body["last4"], body["exp_year"]) == ("visa", "4242", 2034)
    customer.refresh_from_db()
    assert customer.external_id.startswith("cus_")  # created on the way
    second = client.post(METHODS, {"workspace": customer.workspace_id,
                                   "customer": customer.pk, "provider": stripe_provider.pk,
                                   "external_id": "pm_card_mastercard", "is_default": True},
                         format="json")
    assert second.status_code == 201, second.json()
    assert list(PaymentMethod.objects.filter(customer=customer, is_default=True)
                .values_list("external_id", flat=True)) == ["pm_card_mastercard"]


@pytest.mark.parametrize("field,value", [
    ("external_id", "4242424242424242"),
    ("external_id", "4242 4242 4242 4242"),
    ("brand", "5555-5555-5555-4444"),
    ("card_number", "4000056655665556"),
    ("card", {"number": "378282246310005"}),
])
def test_a_card_number_is_refused_anywhere(stripe_provider, stripe_api, field, value):
    customer = f.PaymentCustomerFactory(provider=stripe_provider)
    body = {"workspace": customer.workspace_id, "customer": customer.pk,
            "provider": stripe_provider.pk, "external_id": "pm_card_visa", field: value}
    response = client_in(customer.workspace, "admin").post(METHODS, body, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert any("card number" in " ".join(v) for v in errors.values()), errors
    assert not PaymentMethod.objects.exists() and stripe_api.requests == []


def test_stripe_wants_a_token_and_refuses_unknown_ones(stripe_provider, stripe_api):
    customer = f.PaymentCustomerFactory(provider=stripe_provider)
    client = client_in(customer.workspace, "admin")
    base = {"workspace": customer.workspace_id, "customer": customer.pk,
            "provider": stripe_provider.pk}
    assert client.post(METHODS, {**base, "external_id": "tok visa"},
                       format="json").status_code == 400
    response = client.post(METHODS, {**base, "external_id": "pm_missing"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "payment_rejected"
    assert not PaymentMethod.objects.exists()


def test_methods_of_other_workspaces_are_invisible(stripe_api):
    method = f.PaymentMethodFactory()
    outsider = client_in(f.WorkspaceFactory(), "owner")
    assert outsider.get(f"{METHODS}{method.pk}/").status_code == 404
    assert outsider.get(f"{CUSTOMERS}{method.customer_id}/").status_code == 404


def test_deleting_a_method_detaches_it_at_stripe(stripe_provider, stripe_api):
    customer = f.PaymentCustomerFactory(provider=stripe_provider, external_id="cus_x")
    method = f.PaymentMethodFactory(workspace=customer.workspace, customer=customer,
                                    provider=stripe_provider, external_id="pm_card_visa")
    client = client_in(customer.workspace, "admin")
    assert client.delete(f"{METHODS}{method.pk}/").status_code == 204
    assert stripe_api.calls("/v1/payment_methods/pm_card_visa/detach")


def test_the_admin_refuses_card_numbers_and_syncs_stripe_customers(stripe_provider,
                                                                    stripe_api):
    from django.test import Client

    staff = f.UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    ws = f.WorkspaceFactory()
    page = client.post("/admin/billing/paymentcustomer/add/", {
        "workspace": ws.pk, "provider": stripe_provider.pk, "name": "Acme",
        "email": "ap@acme.example", "tax_rate": "0", "currency": "USD", "metadata": "{}",
        "_save": "Save"})
    assert page.status_code == 302, page.content.decode()[:2000]
    customer = PaymentCustomer.objects.get(workspace=ws)
    assert customer.external_id.startswith("cus_")
    refused = client.post("/admin/billing/paymentmethod/add/", {
        "workspace": ws.pk, "customer": customer.pk, "provider": stripe_provider.pk,
        "external_id": "4242424242424242", "kind": "card", "_save": "Save"})
    assert refused.status_code == 200 and b"card number" in refused.content
    assert not PaymentMethod.objects.exists()
    assert stripe_api.calls("/v1/payment_methods") == []
    added = client.post("/admin/billing/paymentmethod/add/", {
        "workspace": ws.pk, "customer": customer.pk, "provider": stripe_provider.pk,
        "external_id": "pm_card_visa", "kind": "card", "is_default": "on", "_save": "Save"})
    assert added.status_code == 302
    assert PaymentMethod.objects.get(customer=customer).last4 == "4242"
    stripe_api.fail_next = [500]
    failed = client.post("/admin/billing/paymentmethod/add/", {
        "workspace": ws.pk, "customer": customer.pk, "provider": stripe_provider.pk,
        "external_id": "pm_card_other", "kind": "card", "_save": "Save"})
    assert failed.status_code == 302  # back to the form with the provider's error
    assert PaymentMethod.objects.filter(customer=customer).count() == 1
