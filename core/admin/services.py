"""Admin pages that save through a service.

Django's admin saves the object its form built (``save_model``) and then logs and
redirects with that same object. When a service creates the row instead,
``adopt`` makes the form's object that row, so the admin carries on as usual.
``call`` runs a service for an admin action and shows its refusal as a message.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.html import format_html

from core.api.errors import ApiError


def adopt(obj, saved) -> None:
    """Copy the saved row's column values and state onto the admin's unsaved ``obj``."""
    for field in saved._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding, obj._state.db = False, saved._state.db


#: What an admin page catches from a service: refusals meant for the user.
REFUSALS = (ApiError, ValidationError)


def error_text(exc: Exception) -> str:
    """One readable line for a refusal: the message and any field errors, named."""
    if isinstance(exc, ApiError):
        parts = [str(exc.message)]
        for field, problems in (exc.errors or {}).items():
            problems = problems if isinstance(problems, list | tuple) else [problems]
            parts.append(f"{field}: {'; '.join(str(p) for p in problems)}")
        return " ".join(parts)
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        return " ".join("; ".join(problems) if field == "__all__" else
                        f"{field}: {'; '.join(problems)}"
                        for field, problems in exc.message_dict.items())
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


def call(model_admin, request, what: str, func, *args, **kwargs):
    """``func(...)`` in a savepoint; a refusal becomes an error message (returns None)."""
    try:
        with transaction.atomic():
            return func(*args, **kwargs)
    except REFUSALS as exc:
        model_admin.message_user(request, format_html("{}: {}", what, error_text(exc)),
                                 messages.ERROR)
    return None
