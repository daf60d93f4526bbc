"""Coupon rules at redemption: active, before redeem_by, redemptions left, the plan among
the coupon's plans, an amount coupon in the plan's currency; a redemption is counted
once and given back when the subscribe fails."""

from datetime import timedelta

import pytest

from billing.models import Coupon, Subscription
from billing.services import coupons
from billing.services import subscriptions as services
from core.api.errors import ApiError
from tests.factories import CouponFactory, PlanFactory, SubscriptionFactory

from .subscriptions_support import at, team

pytestmark = pytest.mark.django_db


def refusal(func, *args, **kwargs) -> tuple[int, str, dict]:
    with pytest.raises(ApiError) as refused:
        func(*args, **kwargs)
    return refused.value.status_code, refused.value.error_code, refused.value.errors


def test_a_valid_code_is_redeemed_once_and_counted():
    plan = PlanFactory()
    CouponFactory(code="spring", max_redemptions=2)
    coupon = coupons.redeem("Spring", plan=plan)
    assert coupon.times_redeemed == 1
    assert Coupon.objects.get(code="spring").times_redeemed == 1


@pytest.mark.parametrize(("coupon_kwargs", "status", "code"), [
    ({"is_active": False}, 400, "coupon_inactive"),
    ({"redeem_by": at(2026, 3, 31, 23, 59)}, 400, "coupon_expired"),
    ({"max_redemptions": 3, "times_redeemed": 3}, 409, "coupon_exhausted"),
    ({"kind": "amount", "percent_off": None, "amount_off": 500, "currency": "EUR"}, 400,
     "coupon_currency"),
])
def test_coupons_that_may_not_be_redeemed_are_refused_with_the_reason(coupon_kwargs, status,
                                                                     code):
    coupon = CouponFactory(code="deal", **coupon_kwargs)
    before = Coupon.objects.get(pk=coupon.pk).times_redeemed
    got = refusal(coupons.redeem, "deal", plan=PlanFactory(currency="USD"), now=at(2026, 4, 1))
    assert got[:2] == (status, code)
    assert "deal" in got[2]["coupon_code"][0]
    assert Coupon.objects.get(pk=coupon.pk).times_redeemed == before


def test_an_unknown_code_names_the_field_it_came_from():
    assert refusal(coupons.validate, "nope", plan=PlanFactory(), field="code") == \
        (400, "coupon_not_found", {"code": ["There is no coupon with the code 'nope'."]})


def test_a_coupon_for_some_plans_is_refused_on_others():
    team_plan, other = PlanFactory(code="team"), PlanFactory(code="solo")
    coupon = CouponFactory(code="teams-only")
    coupon.plans.set([team_plan])
    assert coupons.validate("teams-only", plan=team_plan) == coupon
    status, code, errors = refusal(coupons.validate, "teams-only", plan=other)
    assert (status, code) == (400, "coupon_not_for_plan")
    assert "team" in errors["coupon_code"][0] and "solo" in errors["coupon_code"][0]


def test_an_amount_coupon_in_the_plans_currency_is_accepted():
    CouponFactory(code="ten-off", kind="amount", percent_off=None, amount_off=1000,
                  currency="EUR")
    assert coupons.validate("ten-off", plan=PlanFactory(currency="EUR")).amount_off == 1000


def test_redeem_by_is_read_on_the_workspaces_clock():
    crew = team(clock_at=at(2026, 4, 2))
    CouponFactory(code="march", redeem_by=at(2026, 3, 31))
    status, code, _ = refusal(services.subscribe, workspace=crew.workspace,
                              plan=PlanFactory(), coupon_code="march")
    assert (status, code) == (400, "coupon_expired")
    # Nothing was created and nothing counted.
    assert not Subscription.objects.filter(workspace=crew.workspace).exists()
    assert Coupon.objects.get(code="march").times_redeemed == 0


def test_a_failed_subscribe_gives_the_redemption_back():
    crew = team(clock_at=at(2026, 4, 1))
    SubscriptionFactory(workspace=crew.workspace)  # already subscribed: 409
    CouponFactory(code="last-one", max_redemptions=1)
    status, code, _ = refusal(services.subscribe, workspace=crew.workspace,
                              plan=PlanFactory(), coupon_code="last-one")
    assert (status, code) == (409, "subscription_exists")
    assert Coupon.objects.get(code="last-one").times_redeemed == 0


def test_a_subscription_holds_one_coupon_while_it_applies():
    crew = team(clock_at=at(2026, 4, 1))
    sub = services.subscribe(workspace=crew.workspace, plan=PlanFactory())
    CouponFactory(code="forever", duration="forever")
    CouponFactory(code="other")
    services.redeem_coupon(sub, "forever", by=crew.users["admin"])
    assert coupons.applies(sub) and coupons.periods_left(sub) is None
    status, code, errors = refusal(services.redeem_coupon, sub, "other")
    assert (status, code, list(errors)) == (409, "coupon_already_applied", ["code"])
    assert Coupon.objects.get(code="other").times_redeemed == 0


def test_periods_left_counts_what_invoicing_used():
    sub = SubscriptionFactory(coupon=CouponFactory(duration="repeating", duration_periods=3))
    assert coupons.periods_left(sub) == 3
    sub.coupon_periods_used = 2
    assert coupons.applies(sub) and coupons.periods_left(sub) == 1
    sub.coupon_periods_used = 3
    assert not coupons.applies(sub) and coupons.periods_left(sub) == 0
    once = SubscriptionFactory(coupon=CouponFactory(duration="once"), coupon_periods_used=1)
    assert not coupons.applies(once)


def test_an_ended_subscription_takes_no_coupon():
    crew = team(clock_at=at(2026, 4, 1))
    sub = services.subscribe(workspace=crew.workspace, plan=PlanFactory())
    services.cancel(sub, at_period_end=False)
    CouponFactory(code="late")
    assert refusal(services.redeem_coupon, sub, "late")[:2] == (409, "invalid_state")


def test_validate_writes_nothing():
    CouponFactory(code="look", max_redemptions=1)
    for _ in range(3):
        coupons.validate("look", plan=PlanFactory(), now=at(2026, 1, 1) + timedelta(days=1))
    assert Coupon.objects.get(code="look").times_redeemed == 0
