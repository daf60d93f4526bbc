"""Phone numbers in E.164 (``+351912345678``), parsed and validated by ``phonenumbers``
(Google's libphonenumber metadata), never by a hand-written pattern."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import models


def normalize(value: str, region: str | None = None) -> str:
    """``value`` in E.164, or ValidationError saying why not.  Without ``region`` the
    number must carry its country code (``+...``)."""
    text = (value or "").strip()
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            "%(value)s is not a phone number (%(reason)s); write it with its country "
            "code, e.g. +351 912 345 678.", code="invalid_phone",
            params={"value": text[:40], "reason": str(exc).split(". ", 1)[-1].rstrip(".")},
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("%(value)s is not a valid number for its country.",
                              code="invalid_phone", params={"value": text[:40]})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class PhoneNumberField(models.CharField):
    """A phone number stored in E.164; any common way of writing it is accepted and
    normalised when the row is validated (admin forms, API serializers, imports)."""

    #: BaseModelSerializer copies the cleaned value back (see core.api.serializers).
    normalizes = True

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("help_text", "E.164, e.g. +351912345678 (spaces and dashes are "
                                       "accepted and removed).")
        super().__init__(*args, **kwargs)

    def get_prep_value(self, value):
        # Values are normalised when rows are validated (and by the services); re-parsing
        # every number on each save or lookup made bulk writes four times slower.
        return models.Field.get_prep_value(self, value)

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return value
        return normalize(value)
