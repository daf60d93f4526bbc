"""The invoice number sequence has no gaps under 20 concurrent generations, and one
period is invoiced once however many generations race for it (PostgreSQL: each thread
its own connection and transaction)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from billing.invoicing import generate_for_period
from billing.models import Invoice, IssuingAccount
from tests.billing.invoices_support import FEB, JAN, subscription
from tests.factories import IssuingAccountFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
THREADS = 20


def race(subscriptions):
    barrier = threading.Barrier(len(subscriptions), timeout=60)

    def run(sub):
        try:
            barrier.wait()
            invoice = generate_for_period(sub, JAN, FEB)
            return invoice.pk if invoice is not None else None
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(subscriptions)) as pool:
        return list(pool.map(run, subscriptions))


def test_the_invoice_number_sequence_has_no_gaps_under_20_concurrent_generations():
    issuer = IssuingAccountFactory(is_default=True, number_prefix="INV-")
    subs = [subscription(price=1000 + n) for n in range(THREADS)]

    created = race(subs)

    assert None not in created
    invoices = Invoice.objects.filter(pk__in=created)
    assert sorted(invoices.values_list("sequence", flat=True)) == list(range(1, THREADS + 1))
    assert sorted(invoices.values_list("number", flat=True)) == \
        [f"INV-{n:06d}" for n in range(1, THREADS + 1)]
    assert IssuingAccount.objects.get(pk=issuer.pk).next_number == THREADS + 1


def test_20_concurrent_generations_of_one_period_create_one_invoice():
    issuer = IssuingAccountFactory(is_default=True, number_prefix="INV-")
    sub = subscription(price=1000)

    created = race([sub] * THREADS)

    assert len([pk for pk in created if pk is not None]) == 1
    assert Invoice.objects.filter(subscription=sub).count() == 1
    assert Invoice.objects.get(subscription=sub).number == "INV-000001"
    assert IssuingAccount.objects.get(pk=issuer.pk).next_number == 2


def test_concurrent_generations_of_ten_subscriptions_twice_each_number_ten_invoices():
    IssuingAccountFactory(is_default=True, number_prefix="INV-")
    subs = [subscription(price=500) for _ in range(THREADS // 2)]

    created = race(subs * 2)

    assert len([pk for pk in created if pk is not None]) == THREADS // 2
    assert sorted(Invoice.objects.values_list("sequence", flat=True)) == \
        list(range(1, THREADS // 2 + 1))
