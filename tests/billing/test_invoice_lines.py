"""Invoice maths, hand-computed: the fee, prorations swept once, usage above the included
amount, coupons (once, N periods, forever), tax rounded once, credits applied."""

from datetime import timedelta
from decimal import Decimal

import pytest

from billing import metering
from billing.invoicing import generate_for_period, lines_for_period
from billing.models import Invoice, InvoiceLine, Subscription
from billing.money import format_money, percent_of, to_minor
from tests.billing.invoices_support import APR, FEB, JAN, MAR, move_to, pending, subscription
from tests.factories import CouponFactory, EntitlementFactory, PlanFactory, PlanFeatureFactory

pytestmark = pytest.mark.django_db
Kind = InvoiceLine.Kind


def kinds(invoice):
    """The lines as (kind, amount), the fee first then the rest as created."""
    lines = invoice.lines.order_by("id")
    return [(line.kind, line.amount) for line in sorted(
        lines, key=lambda line: line.kind != Kind.SUBSCRIPTION)]


# --- the rounding rule --------------------------------------------------------------------


def test_to_minor_rounds_half_up_away_from_zero():
    assert [to_minor(Decimal(x)) for x in ("2.5", "2.4999", "-2.5", "0.5", "1.5")] == \
        [3, 2, -3, 1, 2]
    assert percent_of(1012, Decimal("12.5")) == 127  # 126.5: half up, not to even (126)


def test_money_is_shown_in_the_currency_major_unit():
    assert format_money(123456, "USD") == "USD 1,234.56"
    assert format_money(-500, "EUR") == "EUR -5.00"
    assert format_money(1200, "JPY") == "JPY 1,200"


# --- the fee ------------------------------------------------------------------------------


def test_the_period_invoice_bills_the_plan_fee_and_opens_numbered(issuer):
    sub = subscription(price=3000)

    invoice = generate_for_period(sub, JAN, FEB)

    assert kinds(invoice) == [(Kind.SUBSCRIPTION, 3000)]
    assert (invoice.subtotal, invoice.discount, invoice.tax, invoice.total,
            invoice.amount_due) == (3000, 0, 0, 3000, 3000)
    assert invoice.status == Invoice.Status.OPEN
    assert (invoice.number, invoice.sequence) == ("INV-000001", 1)
    assert invoice.issued_at == FEB  # the workspace's test clock
    assert invoice.due_at == FEB + timedelta(days=issuer.payment_terms_days)
    assert (invoice.period_start, invoice.period_end) == (JAN, FEB)


# --- prorations ---------------------------------------------------------------------------


def test_prorations_are_billed_once_with_the_fee_of_the_plan_the_period_started_on(issuer):
    basic = PlanFactory(price=3000, name="Basic")
    pro = PlanFactory(price=6000, name="Pro")
    sub = subscription(plan=pro)  # upgraded on day 16 of 31 from Basic
    at = JAN + timedelta(days=15)
    # 16 of 31 days remain: Basic's unused 3000*16/31 = 1548.39 -> -1548,
    # Pro for those days 6000*16/31 = 3096.77 -> 3097.
    pending(sub, -1548, plan=basic, role="credit", at=at)
    pending(sub, 3097, plan=pro, role="charge", at=at)

    invoice = generate_for_period(sub, JAN, FEB)

    assert kinds(invoice) == [(Kind.SUBSCRIPTION, 3000), (Kind.PRORATION, -1548),
                              (Kind.PRORATION, 3097)]
    assert invoice.total == 3000 - 1548 + 3097 == 4549
    assert not InvoiceLine.objects.filter(subscription=sub, invoice__isnull=True).exists()

    move_to(sub, FEB, MAR, MAR)
    february = generate_for_period(sub, FEB, MAR)
    assert kinds(february) == [(Kind.SUBSCRIPTION, 6000)]  # swept once; now on Pro


def test_a_line_pending_for_a_later_period_waits_for_its_invoice(issuer):
    sub = subscription(price=1000)
    later = pending(sub, 250, kind=Kind.ONE_OFF, at=FEB + timedelta(days=2))

    invoice = generate_for_period(sub, JAN, FEB)

    assert kinds(invoice) == [(Kind.SUBSCRIPTION, 1000)]
    later.refresh_from_db()
    assert later.invoice is None


def test_a_credit_larger_than_the_fee_is_carried_to_the_next_invoice(issuer):
    sub = subscription(price=1000, tax_rate="20")
    pending(sub, -1500, kind=Kind.ONE_OFF, description="Goodwill credit")

    january = generate_for_period(sub, JAN, FEB)

    assert (january.subtotal, january.tax, january.total, january.status) == \
        (0, 0, 0, Invoice.Status.PAID)
    assert kinds(january)[-1] == (Kind.ONE_OFF, 500)  # carried out
    move_to(sub, FEB, MAR, MAR)
    february = generate_for_period(sub, FEB, MAR)
    assert kinds(february) == [(Kind.SUBSCRIPTION, 1000), (Kind.ONE_OFF, -500)]
    assert (february.subtotal, february.tax, february.total) == (500, 100, 600)


# --- usage --------------------------------------------------------------------------------


def _usage(sub, quantity, at, n):
    metering.record(workspace_id=sub.workspace_id, metric="executions", quantity=quantity,
                    transaction_id=f"t-{n}", occurred_at=at)


def test_usage_above_the_included_amount_is_billed_at_the_overage_price(issuer, features):
    plan = PlanFactory(price=2000)
    PlanFeatureFactory(plan=plan, feature=features["executions_per_month"], limit=None,
                       included=100, overage_price=Decimal("0.5"))
    sub = subscription(plan=plan)
    _usage(sub, 200, JAN + timedelta(days=3), 1)
    _usage(sub, 53, FEB - timedelta(seconds=1), 2)
    _usage(sub, 999, FEB, 3)  # the next period's
    _usage(sub, 999, JAN - timedelta(seconds=1), 4)  # the previous period's

    invoice = generate_for_period(sub, JAN, FEB)

    usage = invoice.lines.get(kind=Kind.USAGE)
    # 253 used, 100 included: 153 x 0.5 = 76.5 -> 77 (half up)
    assert (usage.metric, usage.quantity, usage.amount) == ("executions", 153, 77)
    assert invoice.total == 2000 + 77


def test_a_staff_override_of_the_included_amount_replaces_the_plans(issuer, features):
    feature = features["executions_per_month"]
    plan = PlanFactory(price=0)
    PlanFeatureFactory(plan=plan, feature=feature, limit=None, included=100,
                       overage_price=Decimal("2"))
    sub = subscription(plan=plan)
    EntitlementFactory(workspace=sub.workspace, feature=feature, limit=None, included=240)
    _usage(sub, 250, JAN + timedelta(days=1), 1)

    lines = lines_for_period(sub, JAN, FEB)

    assert [(line.kind, line.quantity, line.amount) for line in lines] == \
        [(Kind.SUBSCRIPTION, 1, 0), (Kind.USAGE, 10, 20)]


def test_usage_within_the_included_amount_adds_no_line(issuer, features):
    plan = PlanFactory(price=500)
    PlanFeatureFactory(plan=plan, feature=features["executions_per_month"], limit=None,
                       included=100, overage_price=Decimal("1"))
    sub = subscription(plan=plan)
    _usage(sub, 100, JAN, 1)

    assert kinds(generate_for_period(sub, JAN, FEB)) == [(Kind.SUBSCRIPTION, 500)]


# --- coupons ------------------------------------------------------------------------------


def _three_periods(sub):
    totals = [generate_for_period(sub, JAN, FEB).total]
    move_to(sub, FEB, MAR, MAR)
    totals.append(generate_for_period(sub, FEB, MAR).total)
    move_to(sub, MAR, APR, APR)
    totals.append(generate_for_period(sub, MAR, APR).total)
    return totals


def test_a_once_coupon_discounts_the_first_invoice_only(issuer):
    sub = subscription(price=3000, coupon=CouponFactory(percent_off=Decimal("10")))

    assert _three_periods(sub) == [2700, 3000, 3000]
    first = Invoice.objects.get(subscription=sub, period_start=JAN)
    assert first.discount == 300
    assert first.lines.get(kind=Kind.DISCOUNT).amount == -300
    assert Subscription.objects.get(pk=sub.pk).coupon_periods_used == 1


def test_a_repeating_coupon_applies_for_its_n_periods(issuer):
    coupon = CouponFactory(kind="amount", percent_off=None, amount_off=500, currency="USD",
                           duration="repeating", duration_periods=2)
    sub = subscription(price=3000, coupon=coupon)

    assert _three_periods(sub) == [2500, 2500, 3000]
    assert Subscription.objects.get(pk=sub.pk).coupon_periods_used == 2


def test_a_forever_coupon_applies_every_period(issuer):
    sub = subscription(price=3333, coupon=CouponFactory(percent_off=Decimal("15"),
                                                        duration="forever"))

    # 15% of 3333 = 499.95 -> 500
    assert _three_periods(sub) == [2833, 2833, 2833]


def test_an_amount_coupon_never_takes_more_than_the_subtotal(issuer):
    coupon = CouponFactory(kind="amount", percent_off=None, amount_off=5000, currency="USD")
    sub = subscription(price=3000, coupon=coupon)

    invoice = generate_for_period(sub, JAN, FEB)

    assert (invoice.discount, invoice.total, invoice.status) == (3000, 0, Invoice.Status.PAID)


def test_a_free_trial_invoice_does_not_use_up_a_once_coupon(issuer):
    sub = subscription(price=3000, coupon=CouponFactory(percent_off=Decimal("50")),
                       trial_end=FEB)

    trial = generate_for_period(sub, JAN, FEB)
    move_to(sub, FEB, MAR, MAR)
    february = generate_for_period(sub, FEB, MAR)

    assert (trial.total, trial.status) == (0, Invoice.Status.PAID)
    assert february.total == 1500


# --- tax ----------------------------------------------------------------------------------


def test_tax_is_computed_once_on_subtotal_less_discount_and_rounded_half_up(issuer, features):
    plan = PlanFactory(price=1000)
    PlanFeatureFactory(plan=plan, feature=features["executions_per_month"], limit=None,
                       included=0, overage_price=Decimal("0.3"))
    sub = subscription(plan=plan, tax_rate="12.5",
                       coupon=CouponFactory(kind="amount", percent_off=None, amount_off=28,
                                            currency="USD"))
    _usage(sub, 135, JAN, 1)  # 135 x 0.3 = 40.5 -> 41

    invoice = generate_for_period(sub, JAN, FEB)

    # subtotal 1041, discount 28: taxable 1013 x 12.5% = 126.625 -> 127
    assert (invoice.subtotal, invoice.discount, invoice.tax_rate, invoice.tax,
            invoice.total) == (1041, 28, Decimal("12.5"), 127, 1140)


def test_tax_exactly_half_a_cent_rounds_up(issuer):
    sub = subscription(price=1012, tax_rate="12.5")

    invoice = generate_for_period(sub, JAN, FEB)

    assert (invoice.tax, invoice.total) == (127, 1139)  # 126.5 -> 127


def test_without_a_payment_customer_no_tax_is_charged(issuer):
    invoice = generate_for_period(subscription(price=1000), JAN, FEB)

    assert (invoice.tax_rate, invoice.tax, invoice.customer) == (0, 0, None)


# --- credits ------------------------------------------------------------------------------


def test_credits_pay_part_of_the_invoice(issuer):
    credits = pytest.importorskip("billing.services.credits")
    sub = subscription(price=3000)
    credits.grant(sub.workspace_id, Decimal("1000"), reason="Welcome")

    invoice = generate_for_period(sub, JAN, FEB)

    assert (invoice.total, invoice.credits_applied, invoice.amount_due, invoice.status) == \
        (3000, 1000, 2000, Invoice.Status.OPEN)
    assert credits.balance(sub.workspace_id) == 0


def test_credits_covering_the_total_leave_the_invoice_paid(issuer):
    credits = pytest.importorskip("billing.services.credits")
    sub = subscription(price=3000)
    credits.grant(sub.workspace_id, Decimal("5000"), reason="Welcome")

    invoice = generate_for_period(sub, JAN, FEB)

    assert (invoice.credits_applied, invoice.amount_due, invoice.status) == \
        (3000, 0, Invoice.Status.PAID)
    assert invoice.paid_at == FEB
    assert credits.balance(sub.workspace_id) == 2000
