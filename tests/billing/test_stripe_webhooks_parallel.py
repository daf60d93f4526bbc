"""The same Stripe event delivered ten times at once, each delivery in its own thread and
database connection, is applied once (PostgreSQL)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework.test import APIClient

from billing.models import BillingEvent, Invoice
from workspaces.models import Activity

from .h4_support import billed_workspace, stripe_api, stripe_provider, stripe_settings
from .stripe_server import intent_event, sign

FIXTURES = (stripe_api, stripe_provider, stripe_settings)
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
DELIVERIES = 10


def test_ten_simultaneous_deliveries_pay_once(stripe_provider):
    *_, invoice = billed_workspace(stripe_provider)
    payload = intent_event("succeeded", invoice=invoice, event_id="evt_race",
                           created=int(time.time()), intent_id="pi_race")
    barrier = threading.Barrier(DELIVERIES, timeout=60)

    def deliver(_):
        try:
            barrier.wait()
            return APIClient().post("/api/v1/billing/webhooks/stripe/", payload,
                                    content_type="application/json",
                                    HTTP_STRIPE_SIGNATURE=sign(payload))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=DELIVERIES) as pool:
        responses = list(pool.map(deliver, range(DELIVERIES)))

    assert [r.status_code for r in responses] == [200] * DELIVERIES
    assert sorted(r.json()["duplicate"] for r in responses) == [False] + [True] * 9
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and invoice.amount_paid == 3000
    assert BillingEvent.objects.filter(event_id="evt_race").count() == 1
    assert Activity.objects.filter(workspace=invoice.workspace,
                                   verb="billing.invoice.paid"
                                   ).count() == 1
