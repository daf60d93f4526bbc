"""Subscriptions and invoicing on the test clock: each period is invoiced once, before
the period moves on; a mid-period upgrade is billed as fee + proration lines; a coupon
discounts exactly its N periods; the workspace's derived plan follows the subscription."""

import pytest

from billing.models import Invoice, InvoiceLine, Subscription
from billing.services import subscriptions as services
from billing.services.clock import advance_clock
from tests.factories import CouponFactory, PlanFactory

from .subscriptions_support import at, billing_staff, team

pytestmark = pytest.mark.django_db
S = Subscription.Status


@pytest.fixture
def staff(db, issuer):
    return billing_staff("change_testclock", "view_testclock")


def invoices(sub) -> list[Invoice]:
    return list(Invoice.objects.filter(subscription=sub).order_by("period_start"))


def test_the_upgraded_period_is_invoiced_once_with_its_proration_lines(staff):
    crew = team(clock_at=at(2026, 4, 1))
    basic = PlanFactory(code="basic", name="Basic", price=1001)
    pro = PlanFactory(code="pro", name="Pro", price=4999)
    sub = services.subscribe(workspace=crew.workspace, plan=basic)
    advance_clock(crew.workspace, at(2026, 4, 16, 10), by=staff)
    services.change_plan(sub, pro)
    prorations = set(InvoiceLine.objects.filter(subscription=sub).values_list("pk", flat=True))

    advance_clock(crew.workspace, at(2026, 5, 1), by=staff)
    advance_clock(crew.workspace, at(2026, 5, 1), by=staff)  # again: nothing new

    [april] = invoices(sub)
    assert (april.period_start, april.period_end) == (at(2026, 4, 1), at(2026, 5, 1))
    lines = {line.pk: line for line in april.lines.all()}
    assert prorations <= set(lines)  # the pending lines were taken, once
    # Basic's fee for April, the unused half credited, Pro for the same 15 days:
    #   1001 - 501 + 2500 = 3000
    fee = [line for line in lines.values() if line.kind == "subscription"]
    assert [line.amount for line in fee] == [1001]
    assert april.subtotal == 3000
    assert not InvoiceLine.objects.filter(subscription=sub, invoice__isnull=True,
                                          kind="proration").exists()
    sub.refresh_from_db()
    assert (sub.current_period_start, sub.plan) == (at(2026, 5, 1), pro)
    assert sub.metadata["period_plan"] == "pro"  # May is billed at Pro's price


def test_a_trial_is_not_invoiced_and_the_first_paid_period_is(staff):
    crew = team(clock_at=at(2026, 1, 10))
    sub = services.subscribe(workspace=crew.workspace, plan=PlanFactory(trial_days=14,
                                                                        price=3000))
    advance_clock(crew.workspace, at(2026, 2, 24), by=staff)
    [first] = invoices(sub)
    assert (first.period_start, first.period_end) == (at(2026, 1, 24), at(2026, 2, 24))
    assert first.subtotal == 3000


def test_a_coupon_applies_for_its_n_periods(staff):
    crew = team(clock_at=at(2026, 1, 1))
    plan = PlanFactory(price=2000)
    coupon = CouponFactory(code="twice", percent_off=25, duration="repeating",
                           duration_periods=2)
    sub = services.subscribe(workspace=crew.workspace, plan=plan, coupon_code="TWICE")
    assert sub.coupon == coupon

    advance_clock(crew.workspace, at(2026, 4, 1), by=staff)  # three periods close

    assert [inv.discount for inv in invoices(sub)] == [500, 500, 0]
    sub.refresh_from_db()
    assert sub.coupon_periods_used == 2
    # Used up: another coupon may now be redeemed.
    services.redeem_coupon(sub, CouponFactory(code="again").code)
    assert sub.coupon.code == "again" and sub.coupon_periods_used == 0


def test_a_coupon_redeemed_mid_subscription_discounts_the_next_invoice(staff):
    crew = team(clock_at=at(2026, 1, 1))
    sub = services.subscribe(workspace=crew.workspace, plan=PlanFactory(price=2000))
    advance_clock(crew.workspace, at(2026, 2, 1), by=staff)
    services.redeem_coupon(sub, CouponFactory(code="once", percent_off=50).code,
                           by=crew.users["owner"])
    advance_clock(crew.workspace, at(2026, 4, 1), by=staff)
    assert [inv.discount for inv in invoices(sub)] == [0, 1000, 0]


def test_the_workspace_plan_follows_the_subscription(staff):
    crew = team(clock_at=at(2026, 1, 1))
    basic, pro = PlanFactory(code="basic"), PlanFactory(code="pro")
    sub = services.subscribe(workspace=crew.workspace, plan=basic)
    crew.workspace.refresh_from_db()
    assert crew.workspace.billing_plan == "basic"
    services.change_plan(sub, pro)
    crew.workspace.refresh_from_db()
    assert crew.workspace.billing_plan == "pro"
    services.cancel(sub, at_period_end=False)
    crew.workspace.refresh_from_db()
    assert crew.workspace.billing_plan != "pro"
