"""The average stays exact when many users rate one component at once: each in its own
thread and database connection (PostgreSQL)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection

from marketplace.models import ComponentRating
from marketplace.services import ratings
from tests import factories as f
from tests.factories.marketplace import MarketplaceComponentFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
RATERS = 24


def _race(fn, args):
    barrier = threading.Barrier(len(args), timeout=60)

    def one(arg):
        try:
            barrier.wait()
            return fn(arg)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(args)) as pool:
        return list(pool.map(one, args))


def test_parallel_ratings_leave_the_true_average_and_count():
    component = MarketplaceComponentFactory()
    users = [f.UserFactory() for _ in range(RATERS)]
    scores = [(n % 5) + 1 for n in range(RATERS)]
    _race(lambda n: ratings.rating_create(user=users[n], component=component,
                                          score=scores[n]), list(range(RATERS)))
    component.refresh_from_db()
    expected = (Decimal(sum(scores)) / RATERS).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert component.rating_count == RATERS == ComponentRating.objects.count()
    assert component.rating_average == expected


def test_parallel_changes_and_deletes_keep_the_figures():
    component = MarketplaceComponentFactory()
    rows = [ratings.rating_create(user=f.UserFactory(), component=component, score=1)
            for _ in range(RATERS)]

    def act(n):
        if n % 3 == 0:
            ratings.rating_delete(rows[n])
        else:
            ratings.rating_update(rows[n], score=5)

    _race(act, list(range(RATERS)))
    component.refresh_from_db()
    left = list(ComponentRating.objects.values_list("score", flat=True))
    assert component.rating_count == len(left) == RATERS - RATERS // 3
    assert set(left) == {5} and component.rating_average == Decimal("5.00")
