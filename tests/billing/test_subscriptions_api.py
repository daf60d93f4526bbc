"""The subscriptions API: subscribe, change plan, cancel, pause, resume and redeem a
coupon by the workspace's owner or admin (403 for members and viewers, 404 for another
workspace, staff always), every refusal a structured error."""

import pytest
from django.urls import reverse

from billing.models import Coupon, InvoiceLine, Subscription
from billing.services import subscriptions as services
from tests.contract.isolation import key_client
from tests.factories import ApiKeyFactory, CouponFactory, PlanFactory

from .subscriptions_support import at, team

pytestmark = pytest.mark.django_db
S = Subscription.Status
LIST = "billing-subscription-list"


def detail(name: str, sub) -> str:
    return reverse(f"billing-subscription-{name.replace('-', '_')}", args=[sub.pk])


@pytest.fixture
def crew():
    return team(clock_at=at(2026, 4, 1))


@pytest.fixture
def sub(crew):
    return services.subscribe(workspace=crew.workspace, plan=PlanFactory(code="basic",
                                                                         price=3000))


# --- subscribe ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_subscribe_with_a_coupon(crew, role):
    plan = PlanFactory(code="pro", trial_days=14)
    CouponFactory(code="hello")
    response = crew.client(role).post(reverse(LIST), {
        "workspace": crew.workspace.pk, "plan": plan.pk, "coupon_code": "hello"},
        format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["plan"], body["trial_end"]) == \
        ("trialing", plan.pk, "2026-04-15T00:00:00Z")
    assert "coupon_code" not in body
    assert body["coupon"] == Coupon.objects.get(code="hello").pk
    assert body["created_by"] == crew.users[role].pk


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_cannot_subscribe(crew, role):
    response = crew.client(role).post(reverse(LIST), {
        "workspace": crew.workspace.pk, "plan": PlanFactory().pk}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Subscription.objects.exists()


def test_subscribing_another_workspace_is_refused_as_an_unknown_one(crew):
    other = team()
    response = other.client("owner").post(reverse(LIST), {
        "workspace": crew.workspace.pk, "plan": PlanFactory().pk}, format="json")
    assert response.status_code == 400
    assert "workspace" in response.json()["errors"]


@pytest.mark.parametrize(("body", "status", "code", "field"), [
    ({"coupon_code": "missing"}, 400, "coupon_not_found", "coupon_code"),
    ({"plan": "archived"}, 400, "plan_unavailable", "plan"),
    ({"plan": None}, 400, "invalid", "plan"),
    ({"plan": 2_000_000_000}, 400, "invalid", "plan"),
])
def test_subscribe_refusals_are_structured(crew, body, status, code, field):
    plan = PlanFactory()
    if body.get("plan") == "archived":
        body = {**body, "plan": PlanFactory(status="archived").pk}
    payload = {"workspace": crew.workspace.pk, "plan": plan.pk, **body}
    response = crew.client("owner").post(reverse(LIST), payload, format="json")
    assert response.status_code == status, response.content
    error = response.json()
    assert (error["status"], error["code"]) == (status, code)
    assert field in error["errors"] and error["message"]


def test_a_second_live_subscription_is_a_conflict(crew, sub):
    response = crew.client("admin").post(reverse(LIST), {
        "workspace": crew.workspace.pk, "plan": PlanFactory().pk}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "subscription_exists"


# --- actions -----------------------------------------------------------------------------


def test_an_admin_upgrades_mid_period_with_proration(crew, sub):
    from billing.models import TestClock

    TestClock.objects.filter(workspace=crew.workspace).update(frozen_time=at(2026, 4, 16))
    pro = PlanFactory(code="pro", price=6000)
    response = crew.client("admin").post(detail("change-plan", sub), {"plan": pro.pk},
                                         format="json")
    assert response.status_code == 200, response.content
    assert response.json()["plan"] == pro.pk
    # 15 of 30 days left: -3000 x 15/30, +6000 x 15/30.
    assert sorted(InvoiceLine.objects.filter(subscription=sub)
                  .values_list("amount", flat=True)) == [-1500, 3000]


def test_change_plan_without_proration(crew, sub):
    response = crew.client("owner").post(detail("change-plan", sub),
                                         {"plan": PlanFactory().pk, "prorate": False},
                                         format="json")
    assert response.status_code == 200
    assert not InvoiceLine.objects.exists()


def test_cancel_at_period_end_then_at_once(crew, sub):
    client = crew.client("owner")
    response = client.post(detail("cancel", sub), {}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["cancel_at_period_end"]) == \
        ("active", True)
    response = client.post(detail("cancel", sub), {"at_period_end": False}, format="json")
    assert response.json()["status"] == "cancelled"
    again = client.post(detail("cancel", sub), {"at_period_end": False}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_state"


def test_pause_and_resume(crew, sub):
    client = crew.client("admin")
    assert client.post(detail("pause", sub)).json()["status"] == "paused"
    assert client.post(detail("pause", sub)).status_code == 409
    assert client.post(detail("resume", sub)).json()["status"] == "active"
    response = client.post(detail("resume", sub))
    assert response.status_code == 409
    assert response.json()["errors"] == {"status": ["active"]}


def test_redeem_coupon(crew, sub):
    CouponFactory(code="save20", percent_off=20)
    client = crew.client("owner")
    response = client.post(detail("redeem-coupon", sub), {"code": "save20"}, format="json")
    assert response.status_code == 200
    assert response.json()["coupon"] == Coupon.objects.get(code="save20").pk
    refused = client.post(detail("redeem-coupon", sub), {"code": ""}, format="json")
    assert refused.status_code == 400 and "code" in refused.json()["errors"]


ACTIONS = [("change-plan", lambda: {"plan": PlanFactory().pk}),
           ("cancel", dict), ("pause", dict), ("resume", dict),
           ("redeem-coupon", lambda: {"code": CouponFactory().code})]


@pytest.mark.parametrize(("action", "body"), ACTIONS, ids=[a for a, _ in ACTIONS])
@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_get_403_on_every_action(crew, sub, action, body, role):
    response = crew.client(role).post(detail(action, sub), body(), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    sub.refresh_from_db()
    assert (sub.status, sub.plan.code, sub.coupon, sub.cancel_at_period_end) == \
        (S.ACTIVE, "basic", None, False)


@pytest.mark.parametrize(("action", "body"), ACTIONS, ids=[a for a, _ in ACTIONS])
def test_another_workspace_gets_404_on_every_action(sub, action, body):
    stranger = team()
    response = stranger.client("owner").post(detail(action, sub), body(), format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_staff_may_act_on_any_subscription(staff_client, sub):
    assert staff_client.post(detail("pause", sub)).json()["status"] == "paused"
    private = PlanFactory(is_public=False)
    response = staff_client.post(detail("change-plan", sub), {"plan": private.pk},
                                 format="json")
    assert response.status_code == 409  # paused: resume first
    staff_client.post(detail("resume", sub))
    response = staff_client.post(detail("change-plan", sub), {"plan": private.pk},
                                 format="json")
    assert response.status_code == 200 and response.json()["plan"] == private.pk


def test_an_admin_api_key_acts_and_a_viewer_key_reads(crew, sub):
    admin_key = key_client(ApiKeyFactory(workspace=crew.workspace, role="admin").raw)
    viewer_key = key_client(ApiKeyFactory(workspace=crew.workspace, role="viewer").raw)
    assert viewer_key.get(detail("detail", sub)).json()["status"] == "active"
    assert viewer_key.post(detail("pause", sub)).status_code == 403
    assert admin_key.post(detail("pause", sub)).json()["status"] == "paused"


def test_members_list_their_workspaces_subscriptions_only(crew, sub):
    team_b = team()
    services.subscribe(workspace=team_b.workspace, plan=PlanFactory())
    rows = crew.client("viewer").get(reverse(LIST)).json()["results"]
    assert [r["id"] for r in rows] == [sub.pk]


def test_a_downgrade_the_workspace_outgrows_is_a_402(crew, sub, features):
    from billing.models import PlanFeature

    tiny = PlanFactory(code="tiny")
    PlanFeature.objects.create(plan=tiny, feature=features["seats"], limit=2)
    response = crew.client("owner").post(detail("change-plan", sub), {"plan": tiny.pk},
                                         format="json")
    assert response.status_code == 402
    body = response.json()
    assert body["code"] == "limit_reached"
    assert (body["errors"]["feature"], body["errors"]["limit"], body["errors"]["used"]) == \
        ("seats", 2, 4)
