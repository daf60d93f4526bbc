"""Reads over users."""

from django.db.models import Exists, OuterRef, QuerySet
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import User


def users_with_two_factor_state() -> QuerySet[User]:
    """Users annotated with ``has_confirmed_device`` (what ``two_factor_enabled`` reads)."""
    confirmed = {"user": OuterRef("pk"), "confirmed": True}
    return User.objects.annotate(
        has_confirmed_device=Exists(TOTPDevice.objects.filter(**confirmed))
        | Exists(StaticDevice.objects.filter(**confirmed))
    )
