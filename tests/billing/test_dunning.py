"""Dunning: a failed payment makes the subscription past due, is retried on the
configured days, emails the owner and the billing address each time, recovers when paid
and cancels the subscription after the grace period.  Driven by the test clock."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from billing.models import Invoice, PaymentProvider, Subscription
from billing.services import dunning, payments
from tests import factories as f
from workspaces.models import Activity, Membership

from .h4_support import billed_workspace, stripe_api, stripe_provider, stripe_settings

FIXTURES = (stripe_api, stripe_provider, stripe_settings)
pytestmark = pytest.mark.django_db


@pytest.fixture
def declined(stripe_provider):
    start = timezone.now().replace(microsecond=0)
    billed = billed_workspace(stripe_provider, token="pm_card_chargeDeclined", start=start)
    clock = f.TestClockFactory(workspace=billed[0], frozen_time=start)
    return (*billed, clock)


def move(clock, **delta):
    clock.frozen_time += timedelta(**delta)
    clock.save()
    return clock.frozen_time


def test_a_failure_makes_the_subscription_past_due_and_tells_the_owner(
        declined, django_capture_on_commit_callbacks):
    ws, customer, _method, sub, invoice, clock = declined
    with django_capture_on_commit_callbacks(execute=True):
        payments.collect(invoice)
    sub.refresh_from_db()
    invoice.refresh_from_db()
    assert sub.status == Subscription.Status.PAST_DUE
    assert sub.past_due_since == clock.frozen_time
    assert invoice.next_payment_attempt == clock.frozen_time + timedelta(days=1)
    [message] = mail.outbox
    owner = Membership.objects.get(workspace=ws, role="owner").user
    assert sorted(message.to) == sorted([owner.email, customer.email])
    assert "Payment failed (attempt 1)" in message.subject
    assert invoice.number in message.body and "declined" in message.body
    verbs = set(Activity.objects.filter(workspace=ws).values_list("verb", flat=True))
    assert {"billing.payment.failed", "billing.subscription.past_due"} <= verbs


def test_retries_follow_the_configured_days_then_stop(declined, stripe_api,
                                                     django_capture_on_commit_callbacks):
    ws, _customer, _method, _sub, invoice, clock = declined
    start = clock.frozen_time
    with django_capture_on_commit_callbacks(execute=True):
        payments.collect(invoice)
    assert dunning.run_due(workspace_id=ws.pk)["retried"] == 0  # not due yet
    schedule = []
    for days in (1, 3, 5):
        now = move(clock, days=days - (clock.frozen_time - start).days)
        with django_capture_on_commit_callbacks(execute=True):
            counts = dunning.run_due(workspace_id=ws.pk)
        assert counts["retried"] == 1
        invoice.refresh_from_db()
        schedule.append(invoice.next_payment_attempt)
        assert now == start + timedelta(days=days)
    assert schedule == [start + timedelta(days=3), start + timedelta(days=5), None]
    assert invoice.payment_attempts == 4 and stripe_api.charges == 4
    assert len(mail.outbox) == 4
    assert "No more automatic attempts" in mail.outbox[-1].body
    move(clock, days=1)
    assert dunning.run_due(workspace_id=ws.pk)["retried"] == 0


def test_a_retry_that_succeeds_recovers_the_subscription(declined):
    ws, _customer, method, sub, invoice, clock = declined
    payments.collect(invoice)
    method.external_id = "pm_card_visa"  # the customer fixed the card
    method.save()
    move(clock, days=1)
    counts = dunning.run_due(workspace_id=ws.pk)
    assert counts == {"retried": 1, "paid": 1, "recovered": 0, "cancelled": 0}
    invoice.refresh_from_db()
    sub.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert sub.status == Subscription.Status.ACTIVE and sub.past_due_since is None


def test_unpaid_after_the_grace_period_cancels_and_ends(declined, stripe_settings,
                                                       django_capture_on_commit_callbacks):
    ws, _customer, _method, sub, invoice, clock = declined
    payments.collect(invoice)
    move(clock, days=13)
    dunning.run_due(workspace_id=ws.pk)
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.PAST_DUE
    ended_at = move(clock, days=1)
    with django_capture_on_commit_callbacks(execute=True):
        counts = dunning.run_due(workspace_id=ws.pk)
    assert counts["cancelled"] == 1
    sub.refresh_from_db()
    invoice.refresh_from_db()
    assert sub.status == Subscription.Status.ENDED
    assert sub.cancelled_at == ended_at and sub.ended_at == ended_at
    assert invoice.status == Invoice.Status.OPEN and invoice.next_payment_attempt is None
    assert "Subscription cancelled" in mail.outbox[-1].subject
    assert dunning.run_due(workspace_id=ws.pk)["cancelled"] == 0


def test_staff_marking_the_invoice_paid_recovers_at_the_next_run(declined):
    ws, _customer, _method, sub, invoice, _clock = declined
    payments.collect(invoice)
    staff = f.UserFactory(is_staff=True, is_superuser=True)
    from billing.services.invoices import mark_paid

    mark_paid(Invoice.objects.get(pk=invoice.pk), staff, reference="wire 123")
    assert dunning.run_due(workspace_id=ws.pk)["recovered"] == 1
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.ACTIVE


def test_real_time_runs_leave_workspaces_on_a_test_clock_alone(declined):
    ws, _customer, _method, _sub, invoice, clock = declined
    payments.collect(invoice)
    far = clock.frozen_time + timedelta(days=60)
    assert dunning.run_due(now=None) == {"retried": 0, "paid": 0, "recovered": 0,
                                         "cancelled": 0}
    assert dunning.run_due(now=far, workspace_id=ws.pk)["cancelled"] == 1


def test_the_manual_provider_charges_nothing_and_waits_for_staff(db):
    manual = f.PaymentProviderFactory(kind=PaymentProvider.Kind.MANUAL)
    _ws, _customer, _method, sub, invoice = billed_workspace(manual)
    assert payments.collect(invoice).status == "skipped"
    invoice.refresh_from_db()
    sub.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN and invoice.payment_attempts == 0
    assert invoice.next_payment_attempt is None and sub.status == Subscription.Status.ACTIVE
    assert mail.outbox == []


def test_without_any_provider_invoices_wait_for_staff(db):
    invoice = f.InvoiceFactory(status=Invoice.Status.OPEN, number="INV-X", sequence=1)
    assert payments.collect(invoice).status == "skipped"
