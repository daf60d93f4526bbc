"""What the workflow admins share: status colours, service look-up, errors as messages."""

from __future__ import annotations

import logging
from importlib import import_module

from django.contrib import messages
from django.db import transaction
from django.utils.html import format_html

from core.admin.display import AMBER, BLUE, GREEN, GREY, RED, status_badge
from core.admin.services import REFUSALS, error_text

log = logging.getLogger(__name__)

COLOURS = {
    "draft": GREY, "active": GREEN, "paused": AMBER, "archived": GREY,
    "pending": GREY, "queued": GREY, "running": BLUE, "succeeded": GREEN, "failed": RED,
    "skipped": "#9ca3af", "cancelled": AMBER, "timed_out": RED,
}


class Unavailable(Exception):
    """A service another part of the app provides is not installed (yet)."""


def service(module: str, name: str):
    """``workflows.services.<module>.<name>``, imported when used (no import-time coupling)."""
    try:
        return getattr(import_module(f"workflows.services.{module}"), name)
    except (ImportError, AttributeError) as exc:
        raise Unavailable(f"{name} is not available on this server.") from exc


def badge(obj):
    return status_badge(obj.status, obj.get_status_display(), COLOURS)


def call(model_admin, request, what: str, func, **kwargs):
    """``func(**kwargs)`` in a savepoint; a refusal becomes an error message (returns None)."""
    try:
        with transaction.atomic():
            return func(**kwargs)
    except Unavailable as exc:
        model_admin.message_user(request, f"{what}: {exc}", messages.ERROR)
    except REFUSALS as exc:
        model_admin.message_user(request, format_html("{}: {}", what, error_text(exc)),
                                 messages.ERROR)
    return None


def duration(ms) -> str:
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    minutes, seconds = divmod(ms // 1000, 60)
    return f"{minutes} min {seconds} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"
