"""Concurrent redemptions never exceed max_redemptions: 20 workspaces' admins redeem the
same 5-use coupon at once through the API, each in its own thread and connection
(PostgreSQL: the coupon row is locked FOR UPDATE)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.urls import reverse

from billing.models import Coupon, Subscription
from billing.services import subscriptions as services
from tests.factories import CouponFactory, PlanFactory

from .subscriptions_support import at, team

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
CALLS, LIMIT = 20, 5


def test_twenty_parallel_redemptions_of_a_five_use_coupon_give_five():
    plan = PlanFactory()
    coupon = CouponFactory(code="launch", max_redemptions=LIMIT)
    crews = [team(clock_at=at(2026, 4, 1)) for _ in range(CALLS)]
    subs = [services.subscribe(workspace=c.workspace, plan=plan) for c in crews]
    clients = [c.client("admin") for c in crews]
    barrier = threading.Barrier(CALLS, timeout=60)

    def redeem(args):
        client, sub = args
        try:
            barrier.wait()
            return client.post(reverse("billing-subscription-redeem_coupon", args=[sub.pk]),
                               {"code": "launch"}, format="json")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=CALLS) as pool:
        responses = list(pool.map(redeem, zip(clients, subs, strict=True)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * LIMIT + [409] * (CALLS - LIMIT), statuses
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"coupon_exhausted"}
    assert Coupon.objects.get(pk=coupon.pk).times_redeemed == LIMIT
    assert Subscription.objects.filter(coupon=coupon).count() == LIMIT
