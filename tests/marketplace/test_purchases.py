"""Buying paid components: by credits (charged once, 402 with too few and nothing
written) or on the subscription's next invoice; admins only; free ones need none."""

from decimal import Decimal

import pytest

from billing.invoicing import generate_for_period
from billing.models import CreditTransaction, InvoiceLine
from billing.services import credits
from core.api.errors import ApiError
from marketplace.models import ComponentPurchase
from marketplace.services.purchases import component_purchase
from tests import factories as f

from .conftest import API, client_for

pytestmark = pytest.mark.django_db


def buy(client, component, workspace, method="credits"):
    return client.post(f"{API}/components/{component.pk}/purchase/",
                       {"workspace": workspace.pk, "method": method}, format="json")


def test_buying_with_credits_charges_once(ws, roles, paid):
    credits.topup(ws.pk, 4000, reference="pay_1")
    client = client_for(roles["admin"])
    first = buy(client, paid, ws)
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["status"] == "paid" and body["price_paid"] == 2500
    assert Decimal(body["credits_spent"]) == 2500 and body["credit_transaction"]
    assert credits.balance(ws.pk) == 1500
    again = buy(client, paid, ws)  # the action door
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    listed = client.post(f"{API}/purchases/", {"workspace": ws.pk, "component": paid.pk,
                                               "method": "credits"}, format="json")
    assert listed.status_code == 200 and listed.json()["id"] == body["id"]  # the list door
    assert credits.balance(ws.pk) == 1500
    assert ComponentPurchase.objects.filter(workspace=ws).count() == 1


def test_credits_follow_the_credit_value(ws, roles, paid, settings):
    settings.BILLING_CREDIT_VALUE_MINOR = 100  # a credit is worth a dollar: $25 = 25
    credits.topup(ws.pk, 30, reference="pay_1")
    purchase, _ = component_purchase(workspace=ws, component=paid, by=roles["owner"])
    assert purchase.credits_spent == 25 and credits.balance(ws.pk) == 5


def test_too_few_credits_is_402_and_nothing_is_written(ws, roles, paid):
    credits.topup(ws.pk, 2499, reference="pay_1")
    answer = buy(client_for(roles["admin"]), paid, ws)
    assert answer.status_code == 402, answer.content
    assert answer.json()["code"] == "insufficient_credits"
    assert not ComponentPurchase.objects.exists()
    assert CreditTransaction.objects.filter(workspace=ws).count() == 1
    assert credits.balance(ws.pk) == 2499


def test_buying_on_the_invoice_adds_a_pending_line_the_next_invoice_takes(ws, roles, paid):
    f.IssuingAccountFactory(is_default=True)
    sub = f.SubscriptionFactory(workspace=ws, plan=f.PlanFactory(price=3000, currency="USD"))
    answer = buy(client_for(roles["admin"]), paid, ws, method="invoice")
    assert answer.status_code == 201, answer.content
    assert answer.json()["status"] == "invoiced"
    line = InvoiceLine.objects.get(pk=answer.json()["invoice_line"])
    assert (line.invoice_id, line.subscription_id, line.kind, line.amount, line.currency) == \
        (None, sub.pk, "one_off", 2500, "USD")
    assert credits.balance(ws.pk) == 0  # nothing taken from credits
    invoice = generate_for_period(sub, sub.current_period_start, sub.current_period_end)
    assert invoice.subtotal == 3000 + 2500
    line.refresh_from_db()
    assert line.invoice_id == invoice.pk


def test_invoice_needs_a_subscription_in_the_components_currency(ws, roles, paid):
    client = client_for(roles["admin"])
    none = buy(client, paid, ws, method="invoice")
    assert none.status_code == 400 and none.json()["code"] == "no_subscription"
    f.SubscriptionFactory(workspace=ws, plan=f.PlanFactory(currency="EUR"))
    other = buy(client, paid, ws, method="invoice")
    assert other.status_code == 400 and other.json()["code"] == "currency_mismatch"
    assert not ComponentPurchase.objects.exists() and not InvoiceLine.objects.exists()


def test_buying_needs_a_workspace_admin(ws, roles, paid):
    credits.topup(ws.pk, 9000, reference="pay_1")
    for role in ("member", "viewer"):
        answer = buy(client_for(roles[role]), paid, ws)
        assert answer.status_code == 403, (role, answer.content)
        listed = client_for(roles[role]).post(
            f"{API}/purchases/", {"workspace": ws.pk, "component": paid.pk}, format="json")
        assert listed.status_code == 403
    assert buy(client_for(f.UserFactory()), paid, ws).status_code == 400  # not its workspace
    assert not ComponentPurchase.objects.exists()
    assert buy(client_for(roles["owner"]), paid, ws).status_code == 201


def test_free_draft_and_deprecated_components_are_not_sold(ws, roles, free, paid):
    client = client_for(roles["admin"])
    answer = buy(client, free, ws)
    assert answer.status_code == 400 and answer.json()["code"] == "free_component"
    paid.status = "deprecated"
    paid.save()
    answer = buy(client, paid, ws)
    assert answer.status_code == 409 and answer.json()["code"] == "not_for_sale"
    with pytest.raises(ApiError):
        paid.status = "draft"
        paid.save()
        component_purchase(workspace=ws, component=paid)


def test_bad_input_is_400(ws, roles, paid):
    client = client_for(roles["admin"])
    for body in ({"workspace": ws.pk, "method": "cash"}, {"method": "credits"},
                 {"workspace": "x"}, {"workspace": 2_000_000_000}):
        answer = client.post(f"{API}/components/{paid.pk}/purchase/", body, format="json")
        assert answer.status_code == 400, body
        assert set(answer.json()) == {"status", "code", "message", "errors", "request_id"}
    assert client.post(f"{API}/components/987654/purchase/", {"workspace": ws.pk},
                       format="json").status_code == 404
