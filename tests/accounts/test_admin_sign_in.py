"""The admin is an OTP site: codes for staff with devices, enrolment for those without."""

import re

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import LoginAttempt
from tests.factories import UserFactory

from .helpers import PASSWORD, confirmed_device, totp_code

pytestmark = pytest.mark.django_db


def admin_login(client, user, code=""):
    return client.post(reverse("admin:login"), {"username": user.email, "password": PASSWORD,
                                                "otp_token": code, "next": "/admin/"})


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True, is_superuser=True)


def test_the_default_admin_site_is_the_otp_site():
    from django.contrib import admin
    from django_otp.admin import OTPAdminSite

    from accounts.models import User

    assert isinstance(admin.site, OTPAdminSite)
    assert admin.site.is_registered(User) and admin.site.is_registered(LoginAttempt)


def test_staff_with_a_device_must_enter_a_code(client, staff):
    device = confirmed_device(staff)
    refused = admin_login(client, staff)
    assert refused.status_code == 200
    assert b"Enter the code from your authenticator app" in refused.content
    assert client.get("/admin/").status_code == 302
    assert admin_login(client, staff, totp_code(device)).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_staff_without_a_device_are_sent_to_enrolment_without_a_loop(client, staff, settings):
    settings.REQUIRE_STAFF_2FA = True
    assert admin_login(client, staff).status_code == 302
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == reverse("two-factor-setup")
    assert b"<svg" in response.content
    assert client.get("/admin/accounts/user/").status_code == 302  # no way around it

    device = TOTPDevice.objects.get(user=staff, confirmed=False)
    done = client.post(reverse("two-factor-setup"), {"code": totp_code(device)})
    assert done.status_code == 200 and done.content.count(b"<li><code>") == 10
    assert client.get("/admin/").status_code == 200


def test_without_the_requirement_staff_without_a_device_get_in(client, staff, settings):
    settings.REQUIRE_STAFF_2FA = False
    admin_login(client, staff)
    assert client.get("/admin/").status_code == 200


def test_admin_login_runs_the_lockout_rule(client, staff, settings):
    settings.LOGIN_MAX_FAILURES = 2
    for _ in range(2):
        client.post(reverse("admin:login"), {"username": staff.email, "password": "wrong"})
    refused = admin_login(client, staff)
    assert b"locked until" in refused.content
    assert client.get("/admin/").status_code == 302
    assert set(LoginAttempt.objects.filter(user=staff).values_list("channel", flat=True)) == {
        "admin"}


def test_unlock_action_in_the_admin(client, staff, settings):
    settings.LOGIN_MAX_FAILURES = 1
    locked = UserFactory(is_staff=True)
    client.post(reverse("admin:login"), {"username": locked.email, "password": "wrong"})
    locked.refresh_from_db()
    assert locked.is_locked
    client.force_login(staff)
    response = client.post(reverse("admin:accounts_user_changelist"),
                           {"action": "unlock_accounts", "_selected_action": [locked.pk]},
                           follow=True)
    assert b"Unlocked 1 account(s)." in response.content
    locked.refresh_from_db()
    assert not locked.is_locked and locked.failed_login_attempts == 0


def test_login_attempts_are_read_only_in_the_admin(client, staff):
    client.force_login(staff)
    assert client.get(reverse("admin:accounts_loginattempt_changelist")).status_code == 200
    assert client.get(reverse("admin:accounts_loginattempt_add")).status_code == 403


def test_reloading_enrolment_keeps_the_scanned_secret(client, staff, settings):
    settings.REQUIRE_STAFF_2FA = True
    admin_login(client, staff)
    first = client.get(reverse("two-factor-setup"))
    device = TOTPDevice.objects.get(user=staff, confirmed=False)
    second = client.get(reverse("two-factor-setup"))
    def uri(page):
        return re.search(r'id="otp-uri">([^<]+)<', page.content.decode()).group(1)

    assert uri(first) == uri(second)
    assert client.post(reverse("two-factor-setup"), {"code": totp_code(device)}).status_code \
        == 200
    assert TOTPDevice.objects.get(user=staff).confirmed
