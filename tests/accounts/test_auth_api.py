"""The /auth/ API: register, verify, sign in, tokens, profile, passwords."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken, LoginAttempt, User
from tests.factories import ApiTokenFactory, UserFactory

from .helpers import PASSWORD, token_client

pytestmark = pytest.mark.django_db


def login(client, email, password=PASSWORD, **extra):
    return client.post(reverse("auth-login"), {"email": email, "password": password, **extra},
                       format="json", HTTP_USER_AGENT="pytest-agent/1.0")


def test_register_verify_and_sign_in(anon_client):
    response = anon_client.post(reverse("auth-register"), {
        "email": "New.Person@Example.com", "password": "a-Very-long-passphrase-42",
        "first_name": "New"}, format="json")
    assert response.status_code == 202, response.content
    assert response.json() == {"detail": "Check your inbox to confirm your address."}
    assert User.objects.get(email="new.person@example.com").status == User.Status.PENDING
    assert len(mail.outbox) == 1
    token = re.search(r"token=(\S+)", mail.outbox[0].body).group(1)

    verified = anon_client.post(reverse("auth-verify-email"), {"token": token}, format="json")
    assert verified.status_code == 200 and verified.json()["status"] == "active"

    signed_in = login(anon_client, "new.person@example.com", "a-Very-long-passphrase-42")
    assert signed_in.status_code == 200
    assert token_client(signed_in.json()["token"]).get(reverse("auth-me")).json()["email"] == \
        "new.person@example.com"


def test_register_refuses_weak_passwords(anon_client):
    weak = anon_client.post(reverse("auth-register"), {"email": "weak@example.com",
                                                       "password": "password"}, format="json")
    assert weak.status_code == 400 and "password" in weak.json()["errors"]
    assert not User.objects.filter(email="weak@example.com").exists()


def test_verification_tokens_expire_and_resist_tampering(anon_client, settings):
    from accounts.services.email_flows import email_verification_token

    user = UserFactory(status=User.Status.PENDING)
    token = email_verification_token(user)
    bad = anon_client.post(reverse("auth-verify-email"), {"token": token + "x"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "token_invalid"
    settings.EMAIL_VERIFICATION_MAX_AGE = -1
    expired = anon_client.post(reverse("auth-verify-email"), {"token": token}, format="json")
    assert expired.status_code == 400 and expired.json()["code"] == "token_expired"


def test_resend_verification_answers_the_same_for_any_email(anon_client):
    UserFactory(email="pending@example.com", status=User.Status.PENDING)
    known = anon_client.post(reverse("auth-resend-verification"),
                             {"email": "pending@example.com"}, format="json")
    unknown = anon_client.post(reverse("auth-resend-verification"),
                               {"email": "nobody@example.com"}, format="json")
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert len(mail.outbox) == 1


def test_login_issues_a_hashed_expiring_token(anon_client, user):
    response = login(anon_client, user.email.upper())
    assert response.status_code == 200
    body = response.json()
    token = ApiToken.objects.get(user=user)
    assert body["token"] not in (token.digest, token.token_key)
    assert body["token"].startswith(token.token_key)
    assert token.expiry > timezone.now() and token.user_agent == "pytest-agent/1.0"
    user.refresh_from_db()
    assert user.login_count == 1 and user.last_login is not None
    assert LoginAttempt.objects.filter(user=user, success=True, channel="api").count() == 1


def test_failed_login_does_not_reveal_whether_the_account_exists(anon_client, user):
    wrong = login(anon_client, user.email, "wrong password")
    unknown = login(anon_client, "ghost@example.com", "wrong password")
    assert wrong.status_code == unknown.status_code == 401
    strip = lambda b: {k: v for k, v in b.items() if k != "request_id"}  # noqa: E731
    assert strip(wrong.json()) == strip(unknown.json())
    assert LoginAttempt.objects.filter(email="ghost@example.com", user=None,
                                       reason="bad_credentials").exists()


def test_expired_or_revoked_tokens_are_refused(anon_client, user):
    raw = login(anon_client, user.email).json()["token"]
    client = token_client(raw)
    assert client.get(reverse("auth-me")).status_code == 200
    ApiToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    assert client.get(reverse("auth-me")).status_code == 401


def test_refresh_replaces_the_token(anon_client, user):
    old = login(anon_client, user.email).json()["token"]
    refreshed = token_client(old).post(reverse("auth-refresh"))
    assert refreshed.status_code == 200
    new = refreshed.json()["token"]
    assert new != old
    assert token_client(old).get(reverse("auth-me")).status_code == 401
    assert token_client(new).get(reverse("auth-me")).status_code == 200


def test_logout_and_logout_everywhere(anon_client, user):
    first, second, third = (login(anon_client, user.email).json()["token"] for _ in range(3))
    assert token_client(first).post(reverse("auth-logout")).status_code == 204
    assert token_client(first).get(reverse("auth-me")).status_code == 401
    assert token_client(second).get(reverse("auth-me")).status_code == 200
    assert token_client(second).post(reverse("auth-logout-all")).status_code == 204
    assert token_client(third).get(reverse("auth-me")).status_code == 401
    assert not ApiToken.objects.filter(user=user).exists()


def test_me_reads_and_updates_the_profile(anon_client, user):
    client = token_client(login(anon_client, user.email).json()["token"])
    response = client.patch(reverse("auth-me"), {
        "timezone": "America/Sao_Paulo", "language": "pt-br", "receive_email": False,
        "avatar_url": "https://cdn.example.com/me.png", "preferences": {"theme": "light"},
        "email": "hijack@example.com", "status": "active"}, format="json")
    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.timezone, user.language, user.receive_email) == ("America/Sao_Paulo", "pt-br",
                                                                  False)
    assert user.preferences == {"theme": "light"}
    assert user.email != "hijack@example.com"
    bad = client.patch(reverse("auth-me"), {"timezone": "Nowhere/Land"}, format="json")
    assert bad.status_code == 400 and "timezone" in bad.json()["errors"]


def test_change_password_revokes_other_tokens(anon_client, user):
    keep = login(anon_client, user.email).json()["token"]
    other = login(anon_client, user.email).json()["token"]
    wrong = token_client(keep).post(reverse("auth-change-password"), {
        "current_password": "nope", "new_password": "another-Long-passphrase-7"}, format="json")
    assert wrong.status_code == 400 and "current_password" in wrong.json()["errors"]
    ok = token_client(keep).post(reverse("auth-change-password"), {
        "current_password": PASSWORD, "new_password": "another-Long-passphrase-7"}, format="json")
    assert ok.status_code == 204
    assert token_client(keep).get(reverse("auth-me")).status_code == 200
    assert token_client(other).get(reverse("auth-me")).status_code == 401
    assert login(anon_client, user.email, "another-Long-passphrase-7").status_code == 200


def test_forgot_and_reset_password(anon_client, user):
    from tests.accounts.helpers import confirmed_device

    confirmed_device(user)
    token = login(anon_client, user.email, otp_code="000000")  # 2FA on: no token without code
    assert token.status_code == 401
    known = anon_client.post(reverse("auth-forgot-password"), {"email": user.email},
                             format="json")
    unknown = anon_client.post(reverse("auth-forgot-password"), {"email": "no@example.com"},
                               format="json")
    assert known.status_code == unknown.status_code == 202 and known.json() == unknown.json()
    assert len(mail.outbox) == 1
    uid, reset_token = re.search(r"uid=(\S+) and token=(\S+) ", mail.outbox[0].body).groups()
    bad = anon_client.post(reverse("auth-reset-password"), {
        "uid": uid, "token": "1-bad", "new_password": "brand-New-passphrase-9"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "token_invalid"
    ok = anon_client.post(reverse("auth-reset-password"), {
        "uid": uid, "token": reset_token, "new_password": "brand-New-passphrase-9"},
        format="json")
    assert ok.status_code == 200
    user.refresh_from_db()
    assert user.check_password("brand-New-passphrase-9")
    assert user.two_factor_enabled, "a reset must never turn two-factor authentication off"
    reused = anon_client.post(reverse("auth-reset-password"), {
        "uid": uid, "token": reset_token, "new_password": "yet-Another-passphrase-3"},
        format="json")
    assert reused.status_code == 400
    assert LoginAttempt.objects.filter(channel="password_reset").count() == 2


def test_sessions_are_listed_and_revocable(anon_client, user):
    first = login(anon_client, user.email).json()["token"]
    second = login(anon_client, user.email).json()["token"]
    ApiTokenFactory()  # someone else's session
    client = token_client(first)
    rows = client.get(reverse("accounts-apitoken-list")).json()["results"]
    assert len(rows) == 2
    assert {r["user_agent"] for r in rows} == {"pytest-agent/1.0"}
    assert [r["current"] for r in rows].count(True) == 1
    other = next(r for r in rows if not r["current"])
    assert client.delete(reverse("accounts-apitoken-detail", args=[other["id"]])).status_code \
        == 204
    assert token_client(second).get(reverse("auth-me")).status_code == 401
    assert client.get(reverse("auth-me")).status_code == 200


def test_token_use_is_recorded(anon_client, user):
    raw = login(anon_client, user.email).json()["token"]
    token_client(raw).get(reverse("auth-me"), REMOTE_ADDR="192.0.2.99")
    token = ApiToken.objects.get(user=user)
    assert token.last_used_at is not None and token.ip_address == "192.0.2.99"


def test_session_auth_keeps_working_for_the_browsable_api(staff_client):
    response = staff_client.get(reverse("auth-me"), HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"Django REST framework" in response.content or b"<html" in response.content


def test_expired_tokens_are_pruned_on_schedule(settings):
    from accounts.tasks import prune_expired_tokens

    live, expired = ApiTokenFactory(), ApiTokenFactory()
    ApiToken.objects.filter(pk=expired.pk).update(expiry=timezone.now() - timedelta(minutes=1))
    assert prune_expired_tokens.delay().get() == 1
    assert list(ApiToken.objects.values_list("pk", flat=True)) == [live.pk]
    assert settings.CELERY_BEAT_SCHEDULE["prune-expired-tokens"]["task"] == \
        "accounts.tasks.prune_expired_tokens"


def test_viewing_others_sessions_does_not_allow_revoking_them(user, client):
    from django.contrib.auth.models import Permission
    from rest_framework.test import APIClient

    user.user_permissions.add(Permission.objects.get(codename="view_apitoken"))
    theirs = ApiTokenFactory()
    api = APIClient()
    api.force_login(user)
    assert api.get(reverse("accounts-apitoken-detail", args=[theirs.pk])).status_code == 200
    assert api.delete(reverse("accounts-apitoken-detail", args=[theirs.pk])).status_code == 403
    assert ApiToken.objects.filter(pk=theirs.pk).exists()
