"""What the billing models share: money fields and the same-workspace rule."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

currency_validator = RegexValidator(r"^[A-Z]{3}$", "An ISO 4217 code in capitals, e.g. EUR.")


def currency_field(**kwargs) -> models.CharField:
    return models.CharField(max_length=3, default="USD", validators=[currency_validator],
                            help_text="ISO 4217 currency code, e.g. USD.", **kwargs)


def minor_units(help_text: str = "", **kwargs) -> models.BigIntegerField:
    """Money in integer minor units (cents): exact, and what payment providers expect."""
    return models.BigIntegerField(default=0, help_text=help_text or "Minor units (cents).",
                                  **kwargs)


def same_workspace(obj, *related) -> None:
    for name in related:
        other = getattr(obj, name, None)
        if other is not None and obj.workspace_id and other.workspace_id != obj.workspace_id:
            raise ValidationError({name: "This object belongs to another workspace."})


def validate_object(value) -> None:
    if not isinstance(value, dict):
        raise ValidationError("A JSON object is expected.")
