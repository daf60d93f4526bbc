"""Generation: exactly once per subscription and period (beat, renewal, a second run),
numbers without gaps, the events and the timeline entry, and what voiding gives back."""

from unittest import mock

import pytest

from billing import events as billing_events
from billing.invoicing import generate, generate_for_period
from billing.models import Invoice, InvoiceLine, IssuingAccount, Subscription
from billing.services import invoices as services
from tests.billing.invoices_support import FEB, JAN, MAR, Heard, move_to, pending, subscription
from tests.factories import CouponFactory, UserFactory
from workspaces.models import Activity

pytestmark = pytest.mark.django_db
S = Invoice.Status


def test_a_second_generation_for_the_same_period_creates_nothing(issuer):
    sub = subscription(price=3000)

    first = generate_for_period(sub, JAN, FEB)
    second = generate_for_period(sub, JAN, FEB)

    assert first is not None and second is None
    assert Invoice.objects.filter(subscription=sub).count() == 1
    assert IssuingAccount.objects.get(pk=issuer.pk).next_number == 2  # no number burnt


def test_the_unique_constraint_is_the_backstop_when_the_check_misses(issuer):
    sub = subscription(price=3000)
    generate_for_period(sub, JAN, FEB)

    with mock.patch.object(generate, "existing", return_value=None):
        assert generate_for_period(sub, JAN, FEB) is None

    assert Invoice.objects.filter(subscription=sub).count() == 1


def test_finalising_emits_the_event_and_writes_the_timeline(issuer,
                                                            django_capture_on_commit_callbacks):
    sub = subscription(price=3000)

    with Heard() as heard, django_capture_on_commit_callbacks(execute=True):
        invoice = generate_for_period(sub, JAN, FEB)

    assert heard.names() == [billing_events.INVOICE_FINALIZED]
    assert heard.events[0].payload == {"invoice": invoice.pk, "number": "INV-000001",
                                       "total": 3000, "amount_due": 3000, "currency": "USD"}
    entry = Activity.objects.get(workspace=sub.workspace, verb="billing.invoice.finalized")
    assert (entry.target_type, entry.target_id) == ("billing.invoice", str(invoice.pk))


def test_nothing_due_is_paid_at_once_and_says_so(issuer, django_capture_on_commit_callbacks):
    coupon = CouponFactory(percent_off=100)
    sub = subscription(price=3000, coupon=coupon)

    with Heard() as heard, django_capture_on_commit_callbacks(execute=True):
        invoice = generate_for_period(sub, JAN, FEB)

    assert (invoice.status, invoice.paid_at, invoice.amount_due) == (S.PAID, FEB, 0)
    assert heard.names() == [billing_events.INVOICE_FINALIZED, billing_events.INVOICE_PAID]


def test_numbers_follow_each_other_per_issuer_and_a_rollback_leaves_no_gap(issuer):
    subs = [subscription(price=1000) for _ in range(3)]
    assert generate_for_period(subs[0], JAN, FEB).number == "INV-000001"

    with mock.patch.object(generate, "apply_credits", side_effect=RuntimeError("boom")), \
            pytest.raises(RuntimeError):
        generate_for_period(subs[1], JAN, FEB)
    assert not Invoice.objects.filter(subscription=subs[1]).exists()

    assert generate_for_period(subs[1], JAN, FEB).number == "INV-000002"
    assert generate_for_period(subs[2], JAN, FEB).number == "INV-000003"


def test_without_any_issuing_account_one_is_created_to_invoice_under(db):
    sub = subscription(price=1000)

    invoice = generate_for_period(sub, JAN, FEB)

    assert invoice.issuer.is_default and invoice.sequence == 1


def test_generate_due_invoices_every_ended_period_once(issuer):
    due = subscription(price=1000, clock_at=None)
    running = subscription(price=1000, clock_at=None, current_period_start=FEB,
                           current_period_end=MAR)
    paused = subscription(price=1000, clock_at=None, status=Subscription.Status.PAUSED)

    assert services.generate_due(now=FEB) == 1
    assert services.generate_due(now=FEB) == 0

    assert Invoice.objects.filter(subscription=due).count() == 1
    assert not Invoice.objects.filter(subscription__in=[running, paused]).exists()


def test_a_real_time_run_leaves_workspaces_on_a_test_clock_to_their_clock(issuer):
    on_clock = subscription(price=1000)  # its clock reads FEB: due there, not in real time

    assert services.generate_due() == 0
    assert services.generate_due(workspace_id=on_clock.workspace_id) == 1


def test_the_renewal_and_the_beat_invoice_a_period_once_between_them(issuer):
    subscriptions = pytest.importorskip("billing.services.subscriptions")
    sub = subscription(price=1000)

    assert services.generate_due(workspace_id=sub.workspace_id) == 1
    done = subscriptions.advance(sub, FEB)

    assert "renewed" in done
    sub.refresh_from_db()
    assert (sub.current_period_start, sub.current_period_end) == (FEB, MAR)
    assert Invoice.objects.filter(subscription=sub).count() == 1


def test_voiding_lets_the_period_be_invoiced_again_with_what_it_took(issuer):
    staff = UserFactory(is_staff=True, is_superuser=True)
    sub = subscription(price=2000, coupon=CouponFactory(percent_off=50))
    pending(sub, 700, kind=InvoiceLine.Kind.ONE_OFF, description="Setup")
    first = generate_for_period(sub, JAN, FEB)
    assert (first.total, Subscription.objects.get(pk=sub.pk).coupon_periods_used) == (1350, 1)

    services.void(first, staff)

    assert Subscription.objects.get(pk=sub.pk).coupon_periods_used == 0
    again = generate_for_period(sub, JAN, FEB)
    assert again.total == 1350 and again.number == "INV-000002"
    assert Invoice.objects.get(pk=first.pk).status == S.VOID


def test_the_invoice_is_handed_to_payment_collection_after_commit(
        issuer, django_capture_on_commit_callbacks):
    sub = subscription(price=1000)
    with mock.patch.object(generate, "collect") as collect, \
            django_capture_on_commit_callbacks(execute=True) as callbacks:
        invoice = generate_for_period(sub, JAN, FEB)
        assert not collect.called  # not before the commit

    assert len(callbacks) >= 1
    collect.assert_called_once_with(invoice)


def test_a_next_period_is_generated_after_the_renewal_moved_the_period(issuer):
    sub = subscription(price=1000)
    generate_for_period(sub, JAN, FEB)
    move_to(sub, FEB, MAR, MAR)

    assert services.generate_due(workspace_id=sub.workspace_id) == 1
    assert list(Invoice.objects.filter(subscription=sub).order_by("sequence")
                .values_list("number", flat=True)) == ["INV-000001", "INV-000002"]
