"""TOTP enrolment, backup codes, replay refusal and disabling, through the API."""

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from .helpers import PASSWORD, confirmed_device, token_client, totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_for(anon_client):
    def make(user):
        response = anon_client.post(reverse("auth-login"),
                                    {"email": user.email, "password": PASSWORD}, format="json")
        return token_client(response.json()["token"])
    return make


def enrol(client, user) -> list[str]:
    started = client.post(reverse("auth-2fa-enrol"))
    assert started.status_code == 201
    body = started.json()
    assert body["provisioning_uri"].startswith("otpauth://totp/")
    assert "issuer=Synapscale" in body["provisioning_uri"]
    assert body["qr_svg"].lstrip().startswith("<?xml") and "<svg" in body["qr_svg"]
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    confirmed = client.post(reverse("auth-2fa-confirm"), {"code": totp_code(device)},
                            format="json")
    assert confirmed.status_code == 200, confirmed.content
    return confirmed.json()["backup_codes"]


def test_enrolment_confirms_and_returns_ten_backup_codes_once(client_for, user):
    client = client_for(user)
    assert client.get(reverse("auth-me")).json()["two_factor_enabled"] is False
    codes = enrol(client, user)
    assert len(codes) == len(set(codes)) == 10
    assert client.get(reverse("auth-me")).json()["two_factor_enabled"] is True
    again = client.post(reverse("auth-2fa-enrol"))
    assert again.status_code == 400 and again.json()["code"] == "already_enabled"


def test_wrong_first_code_does_not_enable(client_for, user):
    client = client_for(user)
    client.post(reverse("auth-2fa-enrol"))
    response = client.post(reverse("auth-2fa-confirm"), {"code": "000000"}, format="json")
    assert response.status_code == 400 and "code" in response.json()["errors"]
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def test_login_with_totp_and_replay_is_refused(anon_client, user):
    device = confirmed_device(user)
    needed = anon_client.post(reverse("auth-login"), {"email": user.email, "password": PASSWORD},
                              format="json")
    assert needed.status_code == 401 and needed.json()["code"] == "otp_required"
    code = totp_code(device)
    body = {"email": user.email, "password": PASSWORD, "otp_code": code}
    assert anon_client.post(reverse("auth-login"), body, format="json").status_code == 200
    replay = anon_client.post(reverse("auth-login"), body, format="json")
    assert replay.status_code == 401 and replay.json()["code"] == "invalid_otp"


def test_backup_codes_work_once_and_regenerating_replaces_them(anon_client, client_for, user):
    client = client_for(user)
    codes = enrol(client, user)
    body = {"email": user.email, "password": PASSWORD, "otp_code": codes[0]}
    first = anon_client.post(reverse("auth-login"), body, format="json")
    assert first.status_code == 200, first.content
    assert anon_client.post(reverse("auth-login"), body, format="json").status_code == 401

    fresh = client.post(reverse("auth-2fa-backup-codes"), {"code": codes[1]}, format="json")
    assert fresh.status_code == 200
    new_codes = fresh.json()["backup_codes"]
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    old = {"email": user.email, "password": PASSWORD, "otp_code": codes[2]}
    assert anon_client.post(reverse("auth-login"), old, format="json").status_code == 401


def test_disabling_needs_password_and_a_current_code(client_for, user):
    client = client_for(user)
    codes = enrol(client, user)
    no_password = client.post(reverse("auth-2fa-disable"),
                              {"password": "wrong", "code": codes[0]}, format="json")
    assert no_password.status_code == 400 and "password" in no_password.json()["errors"]
    no_code = client.post(reverse("auth-2fa-disable"),
                          {"password": PASSWORD, "code": "000000"}, format="json")
    assert no_code.status_code == 400 and "code" in no_code.json()["errors"]
    ok = client.post(reverse("auth-2fa-disable"), {"password": PASSWORD, "code": codes[0]},
                     format="json")
    assert ok.status_code == 204
    assert client.get(reverse("auth-me")).json()["two_factor_enabled"] is False


def test_a_wrong_code_delays_the_next_check(anon_client, user, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 1
    device = confirmed_device(user)
    body = {"email": user.email, "password": PASSWORD, "otp_code": "000000"}
    assert anon_client.post(reverse("auth-login"), body, format="json").status_code == 401
    body["otp_code"] = totp_code(device)
    throttled = anon_client.post(reverse("auth-login"), body, format="json")
    assert throttled.status_code == 401 and throttled.json()["code"] == "invalid_otp"
