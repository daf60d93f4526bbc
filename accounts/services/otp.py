"""Two-factor authentication on django-otp: TOTP enrolment and single-use backup codes."""

import io
from dataclasses import dataclass

import qrcode
import qrcode.image.svg
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User

from .two_factor import has_device

BACKUP_CODE_COUNT = 10
TOTP_DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"


class TwoFactorError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    provisioning_uri: str
    qr_svg: str


def _svg(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def _provisioning_uri(device: TOTPDevice) -> str:
    # django-otp builds the otpauth:// URI with the issuer from OTP_TOTP_ISSUER.
    return device.config_url


def totp_begin_enrolment(*, user: User) -> Enrolment:
    """A fresh unconfirmed TOTP device (replacing any earlier unconfirmed one)."""
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise TwoFactorError("already_enabled", "Two-factor authentication is already on; "
                                                "disable it first to enrol a new device.")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    uri = _provisioning_uri(device)
    return Enrolment(device=device, provisioning_uri=uri, qr_svg=_svg(uri))


def current_enrolment(user: User) -> Enrolment | None:
    """The pending enrolment, to show its QR code again (e.g. after a wrong code)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        return None
    uri = _provisioning_uri(device)
    return Enrolment(device=device, provisioning_uri=uri, qr_svg=_svg(uri))


def confirmed_totp_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def totp_confirm(*, user: User, code: str) -> list[str]:
    """Confirm enrolment with a first code; returns the backup codes (shown once)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        raise TwoFactorError("no_enrolment", "Start two-factor enrolment first.")
    if not device.verify_token(_digits(code)):
        raise TwoFactorError("invalid_otp", "The two-factor code is incorrect.")
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        return backup_codes_regenerate(user=user)


def backup_codes_regenerate(*, user: User) -> list[str]:
    """Replace the user's backup codes with 10 new single-use ones."""
    with transaction.atomic():
        device, _ = StaticDevice.objects.get_or_create(
            user=user, name=BACKUP_DEVICE_NAME, defaults={"confirmed": True})
        device.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def has_two_factor(user: User) -> bool:
    # The same test the two-factor rule (and the admin) applies: any confirmed device.
    return has_device(user)


def verify_code(user: User, code: str):
    """The device that accepts ``code`` (consuming it), or ``None``.

    TOTP refuses a code already used (django-otp remembers the last time step);
    a backup code is deleted when used.
    """
    code = (code or "").strip().replace(" ", "")
    if not code or len(code) > 16:
        return None
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        if code.isdigit() and device.verify_token(code):
            return device
    for device in StaticDevice.objects.filter(user=user, confirmed=True):
        if device.verify_token(code):
            return device
    return None


def two_factor_disable(*, user: User, password: str, code: str) -> None:
    if not user.check_password(password):
        raise TwoFactorError("invalid_password", "The password is incorrect.")
    if verify_code(user, code) is None:
        raise TwoFactorError("invalid_otp", "The two-factor code is incorrect.")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()


def _digits(code: str) -> str:
    return (code or "").strip().replace(" ", "")


