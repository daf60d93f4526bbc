"""One second-factor rule on every channel: admin, API token and API session.

With REQUIRE_STAFF_2FA on, staff get no power anywhere without a verified second
factor; neither does anyone who has a confirmed device.
"""

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.models import ApiToken
from tests.factories import UserFactory, WorkspaceFactory

from .helpers import PASSWORD, confirmed_device, token_client, totp_code, verified_session_client

pytestmark = pytest.mark.django_db

TAGS = "/api/v1/tags/"


@pytest.fixture
def require_staff_2fa(settings):
    settings.REQUIRE_STAFF_2FA = True


@pytest.fixture
def root(db):
    return UserFactory(is_staff=True, is_superuser=True)


def api_login(user, **extra):
    return APIClient().post(reverse("auth-login"),
                            {"email": user.email, "password": PASSWORD, **extra}, format="json")


def admin_session(user, code=""):
    client = APIClient()
    client.post(reverse("admin:login"), {"username": user.email, "password": PASSWORD,
                                         "otp_token": code, "next": "/admin/"},
                format="multipart")
    return client


def assert_refused(response, code):
    assert response.status_code == 403, response.content
    assert response.json()["code"] == code


def new_tag(client):
    return client.post(TAGS, {"workspace": WorkspaceFactory().pk, "name": "urgent"},
                       format="json")


# --- API token -----------------------------------------------------------------------------

def test_password_only_staff_login_gets_an_enrolment_token_only(require_staff_2fa, root):
    signed_in = api_login(root)
    assert signed_in.status_code == 200
    assert signed_in.json()["scope"] == "enrolment"
    client = token_client(signed_in.json()["token"])

    assert_refused(client.get(reverse("accounts-user-list")), "two_factor_enrolment_required")
    assert_refused(new_tag(client), "two_factor_enrolment_required")
    assert_refused(client.patch(reverse("auth-me"), {"first_name": "X"}, format="json"),
                   "two_factor_enrolment_required")
    assert_refused(client.post(reverse("auth-refresh")), "two_factor_enrolment_required")
    assert client.get(reverse("auth-me")).status_code == 200


def test_the_enrolment_token_enrols_and_becomes_a_full_one(require_staff_2fa, root):
    client = token_client(api_login(root).json()["token"])
    assert client.post(reverse("auth-2fa-enrol")).status_code == 201
    device = TOTPDevice.objects.get(user=root, confirmed=False)
    confirmed = client.post(reverse("auth-2fa-confirm"), {"code": totp_code(device)},
                            format="json")
    assert confirmed.status_code == 200 and len(confirmed.json()["backup_codes"]) == 10
    # The first code proved the second factor with this very token.
    assert client.get(reverse("accounts-user-list")).status_code == 200
    assert ApiToken.objects.get(user=root).otp_verified


def test_the_enrolment_token_can_sign_out(require_staff_2fa, root):
    client = token_client(api_login(root).json()["token"])
    assert client.post(reverse("auth-logout")).status_code == 204
    assert not ApiToken.objects.filter(user=root).exists()


def test_a_token_obtained_with_a_code_works(require_staff_2fa, root):
    device = confirmed_device(root)
    assert api_login(root).json()["code"] == "otp_required"
    signed_in = api_login(root, otp_code=totp_code(device))
    assert signed_in.status_code == 200 and signed_in.json()["scope"] == "full"
    client = token_client(signed_in.json()["token"])
    assert client.get(reverse("accounts-user-list")).status_code == 200
    assert new_tag(client).status_code == 201


def test_without_the_setting_staff_tokens_are_full(root, settings):
    settings.REQUIRE_STAFF_2FA = False
    signed_in = api_login(root)
    assert signed_in.json()["scope"] == "full"
    assert token_client(signed_in.json()["token"]).get(reverse("accounts-user-list")) \
        .status_code == 200


def test_turning_the_setting_on_limits_tokens_already_issued(root, settings):
    settings.REQUIRE_STAFF_2FA = False
    client = token_client(api_login(root).json()["token"])
    settings.REQUIRE_STAFF_2FA = True
    assert_refused(client.get(reverse("accounts-user-list")), "two_factor_enrolment_required")


def test_tokens_from_before_a_device_was_confirmed_stop_working(user):
    enrolling = token_client(api_login(user).json()["token"])
    older = token_client(api_login(user).json()["token"])
    enrolling.post(reverse("auth-2fa-enrol"))
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    enrolling.post(reverse("auth-2fa-confirm"), {"code": totp_code(device)}, format="json")

    assert enrolling.get(reverse("auth-me")).status_code == 200
    assert_refused(older.get(reverse("auth-me")), "two_factor_required")
    assert older.post(reverse("auth-logout")).status_code == 204


# --- API session ---------------------------------------------------------------------------

def test_a_password_only_admin_session_is_refused_on_the_api(require_staff_2fa, root):
    client = admin_session(root)
    assert "_auth_user_id" in client.session  # signed in, sent to enrolment
    assert_refused(new_tag(client), "two_factor_enrolment_required")
    assert_refused(client.get(reverse("accounts-user-list")), "two_factor_enrolment_required")


def test_an_otp_verified_admin_session_works_on_the_api(require_staff_2fa, root):
    device = confirmed_device(root)
    client = admin_session(root, code=totp_code(device))
    assert new_tag(client).status_code == 201
    assert client.get(reverse("accounts-user-list")).status_code == 200


def test_an_unverified_session_of_staff_with_a_device_is_refused(require_staff_2fa, root):
    confirmed_device(root)
    client = APIClient()
    client.force_login(root)
    assert_refused(new_tag(client), "two_factor_required")
    assert_refused(client.get(reverse("auth-me")), "two_factor_required")


def test_a_session_enrolling_through_the_api_becomes_verified(require_staff_2fa, root):
    client = APIClient()
    client.force_login(root)
    assert_refused(new_tag(client), "two_factor_enrolment_required")
    client.post(reverse("auth-2fa-enrol"))
    device = TOTPDevice.objects.get(user=root, confirmed=False)
    assert client.post(reverse("auth-2fa-confirm"), {"code": totp_code(device)},
                       format="json").status_code == 200
    assert new_tag(client).status_code == 201


def test_a_user_with_a_device_needs_a_verified_session_too(user):
    device = confirmed_device(user)
    unverified = APIClient()
    unverified.force_login(user)
    assert_refused(unverified.get(reverse("auth-me")), "two_factor_required")
    assert_refused(unverified.get(reverse("workspaces-workspace-list")), "two_factor_required")
    assert verified_session_client(user, device).get(reverse("auth-me")).status_code == 200


def test_a_user_without_a_device_keeps_password_only_sessions(user, require_staff_2fa):
    client = APIClient()
    client.force_login(user)
    assert client.get(reverse("auth-me")).status_code == 200


# --- configuration -------------------------------------------------------------------------

def test_the_otp_middleware_is_installed_after_authentication(settings):
    from accounts.checks import AUTH_MIDDLEWARE, OTP_MIDDLEWARE, otp_middleware_check

    assert otp_middleware_check() == []
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != OTP_MIDDLEWARE]
    assert [e.id for e in otp_middleware_check()] == ["accounts.E001"]
    settings.MIDDLEWARE = [OTP_MIDDLEWARE, *settings.MIDDLEWARE]
    assert AUTH_MIDDLEWARE in settings.MIDDLEWARE
    assert [e.id for e in otp_middleware_check()] == ["accounts.E002"]
