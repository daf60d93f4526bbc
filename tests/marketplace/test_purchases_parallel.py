"""Buying one component twice at once charges once (PostgreSQL, threads)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from billing.services import credits
from marketplace.models import ComponentPurchase
from marketplace.services.purchases import component_purchase
from tests import factories as f
from tests.factories.marketplace import MarketplaceComponentFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_simultaneous_buys_charge_once():
    ws = f.WorkspaceFactory()
    component = MarketplaceComponentFactory(price=1000)
    credits.topup(ws.pk, 5000, reference="pay_1")
    barrier = threading.Barrier(8, timeout=60)

    def buy(_):
        try:
            barrier.wait()
            return component_purchase(workspace=ws, component=component)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(buy, range(8)))
    assert sum(created for _, created in results) == 1
    assert len({purchase.pk for purchase, _ in results}) == 1
    assert ComponentPurchase.objects.count() == 1
    assert credits.balance(ws.pk) == 4000
