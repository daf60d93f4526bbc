"""Validators the analytics models share."""

from __future__ import annotations

from django.core.exceptions import ValidationError


def validate_object(value) -> None:
    if not isinstance(value, dict):
        raise ValidationError("A JSON object is expected.")


def validate_list(value) -> None:
    if not isinstance(value, list):
        raise ValidationError("A JSON list is expected.")


def same_workspace(obj, *related) -> None:
    for name in related:
        other = getattr(obj, name, None)
        if other is not None and obj.workspace_id and other.workspace_id != obj.workspace_id:
            raise ValidationError({name: "This object belongs to another workspace."})
