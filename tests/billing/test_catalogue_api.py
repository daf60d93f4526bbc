"""The plans clients see: active public plans and their own; staff see and edit all."""

import pytest
from django.urls import reverse

from tests.contract.isolation import key_client
from tests.factories import (
    ApiKeyFactory,
    MembershipFactory,
    PlanFactory,
    PlanFeatureFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db


def _codes(client, name="billing-plan-list"):
    response = client.get(reverse(name), {"page_size": 100})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_clients_see_the_public_offer_and_their_own_private_plan(user_client, user):
    public = PlanFactory(code="pro")
    PlanFactory(code="secret-deal", is_public=False)
    PlanFactory(code="legacy", status="archived")
    mine = PlanFactory(code="enterprise-acme", is_public=False)
    membership = MembershipFactory(user=user, role="viewer")
    SubscriptionFactory(workspace=membership.workspace, plan=mine)

    assert {p["code"] for p in _codes(user_client)} == {public.code, mine.code}
    hidden = PlanFactory(code="hidden", is_public=False)
    response = user_client.get(reverse("billing-plan-detail", args=[hidden.pk]))
    assert response.status_code == 404


def test_feature_values_follow_the_plans_a_client_may_see(user_client):
    shown = PlanFeatureFactory(plan=PlanFactory(code="team"))
    PlanFeatureFactory(plan=PlanFactory(code="private", is_public=False))
    rows = _codes(user_client, "billing-planfeature-list")
    assert [r["id"] for r in rows] == [shown.pk]


def test_api_keys_read_plans_but_cannot_change_prices():
    plan = PlanFactory(code="starter", price=900)
    client = key_client(ApiKeyFactory(role="admin").raw)
    assert client.get(reverse("billing-plan-detail", args=[plan.pk])).json()["price"] == 900
    response = client.patch(reverse("billing-plan-detail", args=[plan.pk]), {"price": 1},
                            format="json")
    assert response.status_code in (401, 403)
    plan.refresh_from_db()
    assert plan.price == 900


def test_staff_see_every_plan_and_edit_them(staff_client):
    archived = PlanFactory(code="old", status="archived", is_public=False)
    assert archived.code in {p["code"] for p in _codes(staff_client)}
    response = staff_client.patch(reverse("billing-plan-detail", args=[archived.pk]),
                                  {"price": 1500}, format="json")
    assert response.status_code == 200
    archived.refresh_from_db()
    assert archived.price == 1500


def test_a_plan_needs_a_valid_currency_and_a_non_negative_price(staff_client):
    response = staff_client.post(reverse("billing-plan-list"), {
        "code": "bad", "name": "Bad", "price": -5, "currency": "euro"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) >= {"price", "currency"}
