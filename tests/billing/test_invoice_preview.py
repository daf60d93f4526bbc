"""The preview shows the next invoice as it stands and writes nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import metering
from billing.invoicing import generate_for_period, preview
from billing.models import Invoice, InvoiceLine, IssuingAccount, Subscription
from tests.billing.invoices_support import FEB, JAN, pending, subscription
from tests.factories import CouponFactory, PlanFactory, PlanFeatureFactory

pytestmark = pytest.mark.django_db
WRITES = ("INSERT", "UPDATE", "DELETE", "SAVEPOINT")


def writes(sql: str) -> bool:
    sql = sql.lstrip().upper()
    return sql.startswith(WRITES) or sql.endswith(" FOR UPDATE") or " FOR UPDATE " in sql


@pytest.fixture
def sub(issuer, features):
    plan = PlanFactory(price=2000, code="growth")
    PlanFeatureFactory(plan=plan, feature=features["executions_per_month"], limit=None,
                       included=10, overage_price=Decimal("1.5"))
    sub = subscription(plan=plan, tax_rate="10", coupon=CouponFactory(code="half",
                                                                      percent_off=50),
                       clock_at=JAN + timedelta(days=20))
    pending(sub, 400, kind=InvoiceLine.Kind.ONE_OFF, description="Onboarding call")
    metering.record(workspace_id=sub.workspace_id, metric="executions", quantity=15,
                    transaction_id="p-1", occurred_at=JAN + timedelta(days=2))
    return sub


def test_the_preview_shows_the_current_periods_lines_and_totals(sub):
    shown = preview(sub)

    assert [(line["kind"], line["amount"], line["pending"]) for line in shown["lines"]] == [
        ("subscription", 2000, False), ("one_off", 400, True), ("usage", 8, False),
        ("discount", -1204, False)]  # 5 over x 1.5 = 7.5 -> 8; 50% of 2408
    assert (shown["period_start"], shown["period_end"], shown["as_of"]) == \
        (JAN, FEB, JAN + timedelta(days=20))
    assert (shown["subtotal"], shown["discount"], shown["tax"], shown["total"]) == \
        (2408, 1204, 120, 1324)  # 10% of 1204 = 120.4 -> 120
    assert shown["coupon"] == "half" and shown["plan"] == "growth"


def test_the_preview_writes_nothing(sub):
    counts = (Invoice.objects.count(), InvoiceLine.objects.count())
    numbering = IssuingAccount.objects.get(is_default=True).next_number

    with CaptureQueriesContext(connection) as queries:
        preview(sub)

    written = [q["sql"] for q in queries if writes(q["sql"])]
    assert written == []
    assert (Invoice.objects.count(), InvoiceLine.objects.count()) == counts
    assert IssuingAccount.objects.get(is_default=True).next_number == numbering
    assert Subscription.objects.get(pk=sub.pk).coupon_periods_used == 0
    assert InvoiceLine.objects.get(kind="one_off").invoice is None


def test_the_preview_matches_the_invoice_then_generated(sub):
    shown = preview(sub)

    invoice = generate_for_period(sub, JAN, FEB)

    assert (invoice.subtotal, invoice.discount, invoice.tax, invoice.total) == \
        (shown["subtotal"], shown["discount"], shown["tax"], shown["total"])


def test_the_preview_estimates_the_credits_applied(sub):
    credits = pytest.importorskip("billing.services.credits")
    credits.grant(sub.workspace_id, Decimal("300"), reason="Goodwill")

    shown = preview(sub)

    assert (shown["credits_applied"], shown["amount_due"]) == (300, 1024)
