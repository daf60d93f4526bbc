"""Every sign-in path does the same hashing work, so its time reveals no account.

Counted, not timed: each path must run the configured password hasher exactly
once (a wrong password for a known account used to run it twice, a locked
account not at all).
"""

from datetime import timedelta

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import get_hasher
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from tests.factories import UserFactory

from .helpers import PASSWORD

pytestmark = pytest.mark.django_db

UNKNOWN = "nobody@example.com"


@pytest.fixture
def hash_calls(monkeypatch):
    """How many times the password hasher ran (verify and make_password both encode)."""
    hasher = type(get_hasher())
    original = hasher.encode
    calls = []

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(hasher, "encode", counting)
    return calls


def _known(**fields):
    return UserFactory(**fields).email


def _phantom_locked(client, settings):
    settings.LOGIN_MAX_FAILURES = 1
    client.post(reverse("auth-login"), {"email": UNKNOWN, "password": "wrong"}, format="json")
    return UNKNOWN


ACCOUNTS = {
    "active": lambda client, settings: _known(),
    "inactive": lambda client, settings: _known(is_active=False),
    "suspended": lambda client, settings: _known(status=User.Status.SUSPENDED),
    "deactivated": lambda client, settings: _known(status=User.Status.DEACTIVATED),
    "locked": lambda client, settings: _known(locked_until=timezone.now() + timedelta(hours=1)),
    "unknown": lambda client, settings: UNKNOWN,
    "unknown-locked": _phantom_locked,
}


def _api(client, email, password):
    return client.post(reverse("auth-login"), {"email": email, "password": password},
                       format="json").status_code


def _admin(client, email, password):
    return client.post(reverse("admin:login"), {"username": email, "password": password}
                       ).status_code


def _backend(client, email, password):
    return authenticate(None, email=email, password=password)


@pytest.mark.parametrize("door", [_api, _admin, _backend], ids=["api", "admin", "backend"])
@pytest.mark.parametrize("password", [PASSWORD, "wrong-password"], ids=["right", "wrong"])
@pytest.mark.parametrize("account", sorted(ACCOUNTS))
def test_every_path_hashes_exactly_once(account, password, door, anon_client, client,
                                        settings, hash_calls):
    email = ACCOUNTS[account](anon_client, settings)
    hash_calls.clear()
    door(anon_client if door is _api else client, email, password)
    assert len(hash_calls) == 1


def test_the_outcomes_still_differ_only_where_they_should(anon_client, settings):
    # The counting above must not hide a change in who gets in.
    assert _api(anon_client, _known(), PASSWORD) == 200
    assert _api(anon_client, _known(), "wrong-password") == 401
    assert _api(anon_client, _known(is_active=False), PASSWORD) == 401
    assert _api(anon_client, _known(status=User.Status.SUSPENDED), PASSWORD) == 401
    assert _api(anon_client, UNKNOWN, PASSWORD) == 401
    locked = _known(locked_until=timezone.now() + timedelta(hours=1))
    assert _api(anon_client, locked, PASSWORD) == 403
    assert _api(anon_client, _phantom_locked(anon_client, settings), PASSWORD) == 403
