"""The credits ledger: additions, consumption that never takes the balance below zero,
idempotent references, expiring credits used first and expiring only their unused part,
holds settled at the real cost, refunds, credits paying an invoice."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import CreditTransaction
from billing.services import credits
from core.api.errors import ApiError
from tests import factories as f
from tests.factories import InvoiceFactory, UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db
K = CreditTransaction.Kind


def D(x):
    return Decimal(str(x))


@pytest.fixture
def ws():
    return WorkspaceFactory()


def test_balance_follows_the_movements_and_every_row_records_it(ws):
    assert credits.balance(ws.pk) == 0
    credits.topup(ws.pk, 100, reference="pay_1")
    credits.grant(ws.pk, "25.5", reason="Welcome")
    credits.consume(ws.pk, 30, reference="call:1", source_type="crm.call", source_id="1")
    assert credits.balance(ws.pk) == D("95.5")
    rows = list(CreditTransaction.objects.filter(workspace=ws).order_by("id"))
    assert [r.kind for r in rows] == [K.TOPUP, K.GRANT, K.CONSUMPTION]
    assert [r.balance_after for r in rows] == [D(100), D("125.5"), D("95.5")]
    assert rows[2].amount == D(-30) and rows[2].source_type == "crm.call"


def test_consuming_more_than_the_balance_is_refused_with_both_numbers(ws):
    credits.topup(ws.pk, 10, reference="pay_1")
    with pytest.raises(ApiError) as caught:
        credits.consume(ws.pk, "10.5", reference="call:1")
    error = caught.value
    assert error.status_code == 402 and error.error_code == "insufficient_credits"
    assert error.errors["balance"] == "10" and error.errors["requested"] == "10.5"
    assert "10" in error.message and "10.5" in error.message
    assert credits.balance(ws.pk) == 10
    assert CreditTransaction.objects.filter(workspace=ws).count() == 1


def test_a_reference_is_written_once(ws):
    first = credits.topup(ws.pk, 50, reference="pay_1")
    again = credits.topup(ws.pk, 50, reference="pay_1")
    assert again.pk == first.pk
    c1 = credits.consume(ws.pk, 20, reference="call:7")
    c2 = credits.consume(ws.pk, 20, reference="call:7")
    assert c1.pk == c2.pk and credits.balance(ws.pk) == 30


def test_bad_amounts_are_refused_as_input_errors(ws):
    for bad in (0, -5, "abc", "1.00001", "NaN", None):
        with pytest.raises(ApiError) as caught:
            credits.topup(ws.pk, bad, reference=f"pay_{bad}")
        assert caught.value.status_code == 400
    with pytest.raises(ApiError):
        credits.grant(ws.pk, 5, reason="  ")
    with pytest.raises(ApiError):
        credits.topup(ws.pk, 5, reference="")
    assert credits.balance(ws.pk) == 0


def test_expiring_credits_are_used_first_soonest_first(ws):
    now = timezone.now()
    credits.topup(ws.pk, 100, reference="pay_1")  # never expires
    late = credits.grant(ws.pk, 30, reason="Promo", expires_at=now + timedelta(days=30))
    soon = credits.grant(ws.pk, 20, reason="Trial", expires_at=now + timedelta(days=5))
    credits.consume(ws.pk, 25, reference="c1")
    late.refresh_from_db()
    soon.refresh_from_db()
    assert soon.remaining == 0 and late.remaining == 25
    assert credits.balance(ws.pk) == 125
    assert [e["remaining"] for e in credits.expiring(ws.pk)] == [D(25)]


def test_expiry_removes_only_the_unused_part(ws):
    start = timezone.now()
    clock = f.TestClockFactory(workspace=ws, frozen_time=start)
    credits.topup(ws.pk, 10, reference="pay_1")
    grant = credits.grant(ws.pk, 40, reason="Promo", expires_at=start + timedelta(days=7))
    credits.consume(ws.pk, 15, reference="c1")  # all from the grant
    clock.frozen_time = start + timedelta(days=8)
    clock.save()
    assert credits.balance(ws.pk) == 10  # the rest of the grant no longer counts
    assert credits.expire_due() == 1
    assert credits.expire_due() == 0  # nothing twice
    expiry = CreditTransaction.objects.get(workspace=ws, kind=K.EXPIRY)
    assert expiry.amount == D(-25) and expiry.balance_after == 10
    grant.refresh_from_db()
    assert grant.remaining == 0
    with pytest.raises(ApiError):
        credits.consume(ws.pk, 11, reference="c2")


def test_a_write_after_expiry_expires_first(ws):
    start = timezone.now()
    clock = f.TestClockFactory(workspace=ws, frozen_time=start)
    credits.grant(ws.pk, 40, reason="Promo", expires_at=start + timedelta(days=1))
    clock.frozen_time = start + timedelta(days=2)
    clock.save()
    with pytest.raises(ApiError) as caught:
        credits.consume(ws.pk, 1, reference="c1")
    assert caught.value.errors["balance"] == "0"


def test_hold_reserves_and_settle_returns_the_unused_part(ws):
    credits.topup(ws.pk, 100, reference="pay_1")
    held = credits.hold(ws.pk, 40, reference="call:9:hold", source_type="crm.call",
                        source_id="9")
    assert credits.balance(ws.pk) == 60
    with pytest.raises(ApiError):
        credits.consume(ws.pk, 61, reference="other")
    release = credits.settle(held, "12.5")
    assert release.kind == K.RELEASE and release.amount == D("27.5") and release.hold == held
    assert credits.balance(ws.pk) == D("87.5")
    assert credits.settle(held, "12.5").pk == release.pk  # once
    assert credits.balance(ws.pk) == D("87.5")


def test_settle_above_the_hold_takes_the_rest_but_never_below_zero(ws):
    credits.topup(ws.pk, 50, reference="pay_1")
    held = credits.hold(ws.pk, 40, reference="h1")
    extra = credits.settle(held, 60)  # 20 more wanted, 10 left
    assert extra.kind == K.CONSUMPTION and extra.amount == D(-10)
    assert credits.balance(ws.pk) == 0


def test_a_refund_returns_credits_to_the_expiring_grant_they_came_from(ws):
    now = timezone.now()
    grant = credits.grant(ws.pk, 30, reason="Promo", expires_at=now + timedelta(days=3))
    credits.consume(ws.pk, 30, reference="c1")
    credits.refund(ws.pk, 10, reference="refund:c1", description="Call failed")
    grant.refresh_from_db()
    assert grant.remaining == 10 and credits.balance(ws.pk) == 10


def test_credits_pay_an_invoice_once(ws, settings):
    settings.BILLING_CREDIT_VALUE_MINOR = 100  # a credit is worth one dollar
    credits.topup(ws.pk, "12.5", reference="pay_1")
    invoice = InvoiceFactory(workspace=ws, total=3000, amount_due=3000)
    assert credits.apply_to_invoice(invoice) == 1250
    assert credits.apply_to_invoice(invoice) == 1250  # nothing taken twice
    assert credits.balance(ws.pk) == 0
    row = CreditTransaction.objects.get(workspace=ws, kind=K.INVOICE)
    assert row.source_type == "billing.invoice" and row.source_id == str(invoice.pk)
    small = InvoiceFactory(workspace=ws, total=500, amount_due=500)
    assert credits.apply_to_invoice(small) == 0


def test_credits_cover_a_small_invoice_whole(ws):
    credits.topup(ws.pk, 1000, reference="pay_1")
    invoice = InvoiceFactory(workspace=ws, total=300, amount_due=300)
    assert credits.apply_to_invoice(invoice) == 300
    assert credits.balance(ws.pk) == 700


def test_grants_record_who_and_why(ws):
    staff = UserFactory(is_staff=True)
    tx = credits.grant(ws.pk, 5, reason="Sorry for the outage", by=staff)
    assert tx.created_by == staff and tx.description == "Sorry for the outage"
    with pytest.raises(ApiError):
        credits.grant(ws.pk, 5, reason="x", expires_at=timezone.now() - timedelta(days=1))
    rows = list(credits.running_balance_rows(ws.pk))
    assert rows[-1]["running"] == 5 and all(r["consistent"] for r in rows)
