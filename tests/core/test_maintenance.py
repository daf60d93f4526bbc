"""Maintenance mode: 503 with the configured message on the API and in the browser;
staff keep the admin (and everything else once signed in)."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from core import live_settings
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
MESSAGE = "Upgrading the database; back at 14:00 UTC."


@pytest.fixture
def maintenance():
    live_settings.setting_set(key="maintenance_mode", value=True)
    live_settings.setting_set(key="maintenance_message", value=MESSAGE)


def test_the_api_answers_503_in_the_error_shape_with_the_message(maintenance, user_client):
    for client in (APIClient(), user_client):
        response = client.get(reverse("core-auditentry-list"), HTTP_X_REQUEST_ID="req-12345678")
        assert response.status_code == 503
        assert response.json() == {"status": 503, "code": "maintenance", "message": MESSAGE,
                                   "errors": {}, "request_id": "req-12345678"}
        assert response["Retry-After"] and response["X-Request-ID"] == "req-12345678"


def test_pages_show_the_message(maintenance, client):
    response = client.get("/some-page/")  # any page outside the admin and the API
    assert response.status_code == 503
    assert MESSAGE in response.content.decode()


def test_staff_still_sign_in_to_the_admin_and_use_it(maintenance, client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    assert client.get(reverse("admin:login")).status_code == 200
    response = client.post(reverse("admin:login"), {
        "username": staff.email, "password": "correct horse battery staple",
        "next": reverse("admin:index")})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert client.get(reverse("admin:index")).status_code == 200
    # ...and can turn it off there.
    assert client.get(reverse("admin:core_systemsetting_changelist")).status_code == 200
    assert client.get(reverse("core-auditentry-list")).status_code == 200  # staff session


def test_health_stays_open(maintenance, client):
    # Health may itself answer 503 (no broker in tests): but with its checks, not the notice.
    body = client.get(reverse("health")).json()
    assert "checks" in body or "status" in body
    assert body.get("code") != "maintenance" and MESSAGE not in str(body)


def test_off_means_business_as_usual(user_client):
    assert user_client.get(reverse("auth-me")).status_code == 200
