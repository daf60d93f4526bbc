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


def test_the_beat_task_generates_due_invoices_once(issuer):
    from billing.tasks.invoices import generate_due_invoices

    sub = subscription(price=1000, clock_at=None)

    assert generate_due_invoices(now=FEB.isoformat()) == 1
    assert generate_due_invoices(now=FEB.isoformat()) == 0
    assert Invoice.objects.filter(subscription=sub).count() == 1
    assert generate_due_invoices.app.conf.task_acks_late or \
        generate_due_invoices.acks_late


def test_the_beats_batch_run_bills_like_one_by_one(issuer, features):
    """generate_due writes chunks set-wise: the same lines, totals and a gapless block of
    numbers as generating each subscription alone."""
    from datetime import timedelta
    from decimal import Decimal

    from billing import metering
    from billing.invoicing import batch
    from tests.factories import EntitlementFactory, PlanFactory, PlanFeatureFactory

    plan = PlanFactory(price=2000)
    feature = features["executions_per_month"]
    PlanFeatureFactory(plan=plan, feature=feature, limit=None, included=100,
                       overage_price=Decimal("0.5"))

    def make(n):
        sub = subscription(plan=plan, tax_rate="20" if n % 2 else None,
                           coupon=CouponFactory(percent_off=10) if n % 3 == 0 else None)
        pending(sub, 300 + n, kind=InvoiceLine.Kind.ONE_OFF)
        metering.record(workspace_id=sub.workspace_id, metric="executions",
                        quantity=150 + n, transaction_id=f"b-{n}",
                        occurred_at=JAN + timedelta(days=1))
        if n == 4:
            EntitlementFactory(workspace=sub.workspace, feature=feature, limit=None,
                               included=120)
        return sub

    alone = [make(n) for n in range(6)]
    expected = [generate_for_period(s, JAN, FEB) for s in alone]
    batched = [make(n) for n in range(6)]
    generate_for_period(batched[5], JAN, FEB)  # already invoiced: skipped by the batch

    with mock.patch.object(batch, "CHUNK", 4):
        assert services.generate_due(now=FEB) == 5

    def figures(invoice):
        lines = sorted((line.kind, line.amount) for line in invoice.lines.all())
        return (invoice.subtotal, invoice.discount, invoice.tax, invoice.total,
                invoice.status, invoice.issued_at, lines)

    for one, sub in zip(expected, batched, strict=True):
        assert figures(Invoice.objects.get(subscription=sub)) == figures(one)
    sequences = sorted(Invoice.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, 13))
    assert not InvoiceLine.objects.filter(subscription__in=batched,
                                          invoice__isnull=True).exists()
    assert [Subscription.objects.get(pk=s.pk).coupon_periods_used for s in batched] == \
        [1, 0, 0, 1, 0, 0]
    assert Activity.objects.filter(verb="billing.invoice.finalized").count() == 12


def test_a_batch_leaves_workspaces_with_credits_to_the_credits_service(issuer):
    credits = pytest.importorskip("billing.services.credits")
    from decimal import Decimal

    plain, credited = subscription(price=1000), subscription(price=1000)
    credits.grant(credited.workspace_id, Decimal("400"), reason="Welcome")

    assert services.generate_due(now=FEB) == 2

    assert Invoice.objects.get(subscription=plain).credits_applied == 0
    assert (Invoice.objects.get(subscription=credited).credits_applied,
            Invoice.objects.get(subscription=credited).amount_due) == (400, 600)
