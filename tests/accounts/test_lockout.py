"""Lockout: consecutive failures lock the account with a capped, doubling backoff."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import LoginAttempt
from accounts.services.signin import lockout_period
from core.models import AuditEntry

from .helpers import PASSWORD, confirmed_device, totp_code

pytestmark = pytest.mark.django_db


def api_login(client, email, password, otp_code=None, **headers):
    body = {"email": email, "password": password}
    if otp_code is not None:
        body["otp_code"] = otp_code
    return client.post(reverse("auth-login"), body, format="json", **headers)


def test_backoff_doubles_and_is_capped(settings):
    settings.LOGIN_MAX_FAILURES = 5
    settings.LOGIN_LOCKOUT_SECONDS = 300
    settings.LOGIN_LOCKOUT_MAX_SECONDS = 1000
    assert lockout_period(4) == timedelta(0)
    assert lockout_period(5) == timedelta(seconds=300)
    assert lockout_period(10) == timedelta(seconds=600)
    assert lockout_period(15) == timedelta(seconds=1000)
    assert lockout_period(500) == timedelta(seconds=1000)


def test_locked_account_refuses_even_the_right_password(anon_client, user, settings):
    settings.LOGIN_MAX_FAILURES = 3
    for _ in range(2):
        assert api_login(anon_client, user.email, "wrong").status_code == 401
    third = api_login(anon_client, user.email, "wrong")
    assert third.status_code == 403 and third.json()["code"] == "account_locked"
    user.refresh_from_db()
    assert user.locked_until > timezone.now()

    right = api_login(anon_client, user.email, PASSWORD)
    assert right.status_code == 403
    assert "locked until" in right.json()["message"]
    assert 0 < int(right["Retry-After"]) <= settings.LOGIN_LOCKOUT_SECONDS
    assert LoginAttempt.objects.filter(user=user, reason="locked").count() == 1


def test_lock_expires_and_success_resets_the_counter(anon_client, user, settings):
    settings.LOGIN_MAX_FAILURES = 2
    api_login(anon_client, user.email, "wrong")
    api_login(anon_client, user.email, "wrong")
    user.refresh_from_db()
    user.locked_until = timezone.now() - timedelta(seconds=1)
    user.save(update_fields=["locked_until"])
    assert api_login(anon_client, user.email, PASSWORD).status_code == 200
    user.refresh_from_db()
    assert (user.failed_login_attempts, user.locked_until, user.login_count) == (0, None, 1)


def test_wrong_two_factor_codes_count_towards_lockout(anon_client, user, settings):
    settings.LOGIN_MAX_FAILURES = 2
    device = confirmed_device(user)
    assert api_login(anon_client, user.email, PASSWORD, otp_code="000000").status_code == 401
    locked = api_login(anon_client, user.email, PASSWORD, otp_code="111111")
    assert locked.status_code == 403 and locked.json()["code"] == "account_locked"
    refused = api_login(anon_client, user.email, PASSWORD, otp_code=totp_code(device))
    assert refused.status_code == 403
    assert list(LoginAttempt.objects.filter(user=user).values_list("reason", flat=True)
                .order_by("id")) == ["bad_otp", "bad_otp", "locked"]


def test_staff_unlock_through_the_api(staff_client, anon_client, user, settings):
    settings.LOGIN_MAX_FAILURES = 1
    api_login(anon_client, user.email, "wrong")
    user.refresh_from_db()
    assert user.is_locked
    response = staff_client.post(reverse("accounts-user-unlock", args=[user.pk]))
    assert response.status_code == 200 and response.json()["locked_until"] is None
    entry = AuditEntry.objects.get(target_id=str(user.pk), action="update")
    assert entry.before["locked_until"] is not None and entry.after["locked_until"] is None
    assert api_login(anon_client, user.email, PASSWORD).status_code == 200


def test_unlock_needs_change_permission(user_client, user):
    assert user_client.post(reverse("accounts-user-unlock", args=[user.pk])).status_code == 403


def test_login_is_throttled_per_ip_and_per_account(anon_client, user, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES",
                        {"auth_ip": "100/min", "auth_account": "3/min", "anon": "1000/min",
                         "user": "1000/min"})
    for n in range(3):
        api_login(anon_client, user.email, "wrong", REMOTE_ADDR=f"192.0.2.{n}")
    throttled = api_login(anon_client, user.email, PASSWORD, REMOTE_ADDR="192.0.2.200")
    assert throttled.status_code == 429 and throttled.json()["code"] == "throttled"
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES",
                        {"auth_ip": "2/min", "auth_account": "100/min", "anon": "1000/min",
                         "user": "1000/min"})
    from django.core.cache import cache

    cache.clear()
    api_login(anon_client, "a@example.com", "x")
    api_login(anon_client, "b@example.com", "x")
    assert api_login(anon_client, "c@example.com", "x").status_code == 429


def test_forwarded_for_is_ignored_without_trusted_proxies(anon_client, user, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    api_login(anon_client, user.email, "wrong", HTTP_X_FORWARDED_FOR="203.0.113.9",
              REMOTE_ADDR="192.0.2.1")
    settings.TRUSTED_PROXY_COUNT = 1
    api_login(anon_client, user.email, "wrong", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9",
              REMOTE_ADDR="192.0.2.1")
    assert list(LoginAttempt.objects.order_by("id").values_list("ip_address", flat=True)) == [
        "192.0.2.1", "203.0.113.9"]


def test_lockout_answers_the_same_for_unknown_emails(anon_client, user, settings):
    settings.LOGIN_MAX_FAILURES = 2
    answers = {}
    for email in (user.email, "nobody@example.com"):
        api_login(anon_client, email, "wrong")
        locked = api_login(anon_client, email, "wrong")
        again = api_login(anon_client, email, "wrong")
        answers[email] = [(r.status_code, r.json()["code"]) for r in (locked, again)]
    assert answers[user.email] == answers["nobody@example.com"] == [
        (403, "account_locked"), (403, "account_locked")]


def test_old_login_attempts_are_pruned_on_schedule(settings, user):
    from accounts.tasks import prune_login_attempts
    from tests.factories import LoginAttemptFactory

    settings.LOGIN_ATTEMPT_RETENTION_DAYS = 30
    old, recent = LoginAttemptFactory(user=user), LoginAttemptFactory(user=user)
    LoginAttempt.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    assert prune_login_attempts.delay().get() == 1
    assert list(LoginAttempt.objects.values_list("pk", flat=True)) == [recent.pk]
    assert "prune-login-attempts" in settings.CELERY_BEAT_SCHEDULE
