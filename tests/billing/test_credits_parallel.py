"""The balance never goes below zero under concurrency: 50 consumptions at once, each in
its own thread and database connection, against a balance that allows 20 (PostgreSQL)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from billing.models import CreditTransaction
from billing.services import credits
from core.api.errors import ApiError
from tests.factories import WorkspaceFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
CALLS = 50


def _race(fn, args):
    barrier = threading.Barrier(len(args), timeout=60)

    def one(arg):
        try:
            barrier.wait()
            return fn(arg)
        except ApiError as error:
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(args)) as pool:
        return list(pool.map(one, args))


def test_fifty_parallel_consumptions_against_twenty_leave_zero_never_below():
    ws = WorkspaceFactory()
    credits.topup(ws.pk, 100, reference="pay_1")  # 20 consumptions of 5

    results = _race(lambda n: credits.consume(ws.pk, 5, reference=f"call:{n}"),
                    list(range(CALLS)))

    ok = [r for r in results if isinstance(r, CreditTransaction)]
    refused = [r for r in results if isinstance(r, ApiError)]
    assert len(ok) == 20 and len(refused) == 30
    assert {e.error_code for e in refused} == {"insufficient_credits"}
    assert credits.balance(ws.pk) == 0
    rows = CreditTransaction.objects.filter(workspace=ws).order_by("id")
    assert min(r.balance_after for r in rows) == 0
    running = Decimal(0)
    for row in rows:  # every row's balance is the sum of the movements up to it
        running += row.amount
        assert row.balance_after == running


def test_the_same_reference_sent_in_parallel_is_taken_once():
    ws = WorkspaceFactory()
    credits.topup(ws.pk, 100, reference="pay_1")
    results = _race(lambda _: credits.consume(ws.pk, 5, reference="call:same"),
                    list(range(20)))
    assert len({r.pk for r in results}) == 1
    assert credits.balance(ws.pk) == 95


def test_parallel_holds_and_grants_of_a_new_workspace_keep_the_books():
    ws = WorkspaceFactory()  # no ledger row yet: the first writers race too
    adds = _race(lambda n: credits.grant(ws.pk, 2, reason="bonus", reference=f"g{n}"),
                 list(range(10)))
    assert all(isinstance(r, CreditTransaction) for r in adds)
    assert credits.balance(ws.pk) == 20
    holds = _race(lambda n: credits.hold(ws.pk, 3, reference=f"h{n}"), list(range(10)))
    assert sum(isinstance(r, CreditTransaction) for r in holds) == 6
    assert credits.balance(ws.pk) == 2
