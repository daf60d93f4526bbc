"""The user model: email login, validated profile fields, 2FA state from devices."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_email_is_the_login_name_and_case_insensitive(client):
    user = User.objects.create_user("Ana@Example.COM", "s3cret-passphrase")
    assert user.email == "ana@example.com"
    assert User.objects.get_by_natural_key("ANA@example.com") == user


def test_duplicate_email_in_another_case_is_refused_by_the_api(staff_client):
    UserFactory(email="dup@example.com")
    response = staff_client.post(reverse("accounts-user-list"), {"email": "DUP@example.com"},
                                 format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["email"] == ["A user with this email address already exists."]


@pytest.mark.parametrize("value", ["Mars/Olympus", "utc+3", ""])
def test_timezone_must_be_an_iana_name(value):
    user = UserFactory.build(timezone=value)
    with pytest.raises(ValidationError) as exc:
        user.full_clean(exclude=["password"])
    assert "timezone" in exc.value.message_dict


def test_api_reports_invalid_timezone_and_language(staff_client):
    response = staff_client.post(reverse("accounts-user-list"),
                                 {"email": "tz@example.com", "timezone": "Mars/Olympus",
                                  "language": "klingon"}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["timezone"] == ["Mars/Olympus is not an IANA time zone name "
                                  "(for example Europe/Lisbon)."]
    assert errors["language"] == ["klingon is not a supported language code."]


def test_weak_password_is_refused_with_reasons(staff_client):
    response = staff_client.post(reverse("accounts-user-list"),
                                 {"email": "weak@example.com", "password": "123"}, format="json")
    assert response.status_code == 400
    assert len(response.json()["errors"]["password"]) >= 2
    assert not User.objects.filter(email="weak@example.com").exists()


def test_password_set_through_the_api_signs_in(staff_client, client):
    staff_client.post(reverse("accounts-user-list"),
                      {"email": "pw@example.com", "password": "a-Very-long-passphrase-42"},
                      format="json")
    assert client.login(username="pw@example.com", password="a-Very-long-passphrase-42")


def test_password_is_never_returned(staff_client, user):
    body = staff_client.get(reverse("accounts-user-detail", args=[user.pk])).json()
    assert "password" not in body


def test_two_factor_enabled_reflects_confirmed_devices(staff_client, user):
    url = reverse("accounts-user-detail", args=[user.pk])
    assert staff_client.get(url).json()["two_factor_enabled"] is False
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=False)
    assert staff_client.get(url).json()["two_factor_enabled"] is False
    device.confirmed = True
    device.save()
    assert staff_client.get(url).json()["two_factor_enabled"] is True
    assert User.objects.get(pk=user.pk).two_factor_enabled is True


def test_security_counters_are_read_only_in_the_api(staff_client, user):
    url = reverse("accounts-user-detail", args=[user.pk])
    staff_client.patch(url, {"login_count": 99, "is_superuser": True}, format="json")
    user.refresh_from_db()
    assert user.login_count == 0 and not user.is_superuser
