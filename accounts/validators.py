"""Validators for user profile fields."""

import zoneinfo
from functools import cache

from django.conf import settings
from django.core.exceptions import ValidationError


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in _timezones():
        raise ValidationError(
            "%(value)s is not an IANA time zone name (for example Europe/Lisbon).",
            code="invalid_timezone",
            params={"value": value},
        )


def validate_language(value: str) -> None:
    codes = {code for code, _ in settings.LANGUAGES}
    if value not in codes:
        raise ValidationError(
            "%(value)s is not a supported language code.",
            code="invalid_language",
            params={"value": value},
        )
