"""Small helpers for account tests: current TOTP codes and token clients."""

import time

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

PASSWORD = "correct horse battery staple"


def totp_code(device: TOTPDevice, offset_steps: int = 0) -> str:
    """The device's code now, or ``offset_steps`` time steps away."""
    generator = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    generator.time = time.time() + offset_steps * device.step
    return str(generator.token()).zfill(device.digits)


def confirmed_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def token_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def verified_session_client(user, device=None) -> APIClient:
    """A session client signed in as if through the admin with a code (django-otp verified).

    ``force_login`` alone is a password-only session: the two-factor rule refuses it
    on the API for anyone who has a device (or is staff under REQUIRE_STAFF_2FA).
    """
    from django_otp import DEVICE_ID_SESSION_KEY

    device = device or confirmed_device(user)
    client = APIClient()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
