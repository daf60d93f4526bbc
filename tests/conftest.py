import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import UserFactory

# Fixtures shared by tests in several apps.
pytest_plugins = ["tests.celery_broker"]


def pytest_collection_modifyitems(config, items):
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL to run it")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counters live in the cache; tests must not share them.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def superuser(db):
    return UserFactory(is_staff=True, is_superuser=True, email="root@example.com")


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def anon_client():
    return APIClient()


@pytest.fixture
def staff_client(superuser):
    client = APIClient()
    client.force_login(superuser)
    return client


@pytest.fixture
def user_client(user):
    client = APIClient()
    client.force_login(user)
    return client
