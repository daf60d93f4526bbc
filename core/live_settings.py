"""Live system settings: declared once in code, changed by staff without a deploy.

Each setting is declared here (or by an app, with ``declare``) with its type, default,
validation and help text; ``core.SystemSetting`` rows hold only the values staff
changed (a null value means the default).  Reads go through ``get``, which serves
every stored value from the shared cache (one entry for all settings); a change
through ``setting_set`` (the admin's and any service's one way to write) deletes that
entry once the transaction commits, so every process reads the new value at its next
request.  Changes made in the admin are in the audit trail like any other row;
changes made outside a request are recorded explicitly.

Why not django-constance: its admin is one form outside ``core.admin.base``, its
values live in a framework table the sync report and API bases do not cover, and its
changes would need a second audit path.  This module is the part of it we need.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.functional import Promise

from .models import AuditEntry, SystemSetting

CACHE_KEY = "core:live-settings:v1"

_TYPES = (bool, int, str)


@dataclass(frozen=True)
class Setting:
    """One declared setting.  ``default`` may be a callable (read from Django settings
    at call time, so tests and environments can move it)."""

    key: str
    type: type
    default: Any
    help_text: str
    label: str = ""
    validators: tuple[Callable[[Any], None], ...] = ()
    choices: Callable[[], list[tuple[str, str]]] | None = None
    min_value: int | None = None
    max_value: int | None = None
    multiline: bool = False

    @property
    def default_value(self):
        return self.default() if callable(self.default) else self.default

    @property
    def title(self) -> str:
        return self.label or self.key.replace("_", " ").capitalize()

    def clean(self, value):
        """``value`` converted to the declared type and validated, or ValidationError."""
        value = _coerce(self, value)
        if self.choices is not None and value not in {c for c, _ in self.choices()}:
            raise ValidationError(f"{value!r} is not one of the allowed values.",
                                  code="invalid_choice")
        if self.min_value is not None and value < self.min_value:
            raise ValidationError(f"Must be at least {self.min_value}.", code="min_value")
        if self.max_value is not None and value > self.max_value:
            raise ValidationError(f"Must be at most {self.max_value}.", code="max_value")
        for validator in self.validators:
            validator(value)
        return value


def _coerce(setting: Setting, value):
    if isinstance(value, Promise):
        value = str(value)
    if setting.type is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "on", "off"):
            return value.lower() in ("true", "1", "on")
        raise ValidationError("Must be true or false.", code="invalid")
    if setting.type is int:
        if isinstance(value, bool):
            raise ValidationError("Must be a whole number.", code="invalid")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValidationError("Must be a whole number.", code="invalid") from None
        if isinstance(value, float) and number != value:
            raise ValidationError("Must be a whole number.", code="invalid")
        return number
    if not isinstance(value, str):
        raise ValidationError("Must be text.", code="invalid")
    return value.strip() if not setting.multiline else value


_REGISTRY: dict[str, Setting] = {}


def declare(key: str, *, type: type, default, help_text: str, **options) -> Setting:
    """Declare a setting (apps call this at import time, e.g. from ``AppConfig.ready``)."""
    if type not in _TYPES:
        raise TypeError(f"Live setting {key!r}: type must be one of bool, int, str.")
    declared = Setting(key=key, type=type, default=default, help_text=help_text, **options)
    existing = _REGISTRY.get(key)
    if existing is not None and existing != declared:
        raise ValueError(f"Live setting {key!r} is already declared differently.")
    _REGISTRY[key] = declared
    return declared


def declared() -> dict[str, Setting]:
    return dict(_REGISTRY)


def declaration(key: str) -> Setting:
    try:
        return _REGISTRY[key]
    except KeyError:
        raise KeyError(f"No live setting {key!r} is declared.") from None


# --- reads -------------------------------------------------------------------------------


def _stored() -> dict[str, Any]:
    """Stored (non-default) values by key: from the cache, else one query that refills it."""
    values = cache.get(CACHE_KEY)
    if values is None:
        values = dict(SystemSetting.objects.filter(key__in=list(_REGISTRY), value__isnull=False)
                      .values_list("key", "value"))
        cache.set(CACHE_KEY, values, settings.LIVE_SETTINGS_CACHE_SECONDS)
    return values


def get(key: str):
    """The setting's current value: the stored one if it is still valid, else the default.

    A stored value that no longer validates (a declaration tightened since) falls back
    to the default rather than breaking every request.
    """
    setting = declaration(key)
    stored = _stored()
    if key in stored:
        try:
            return setting.clean(stored[key])
        except ValidationError:
            pass
    return setting.default_value


def values() -> dict[str, Any]:
    return {key: get(key) for key in _REGISTRY}


def invalidate() -> None:
    """Forget the cached values now and again once the transaction commits (a process
    reading between the two would otherwise cache the old row again)."""
    cache.delete(CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(CACHE_KEY))


# --- writes ------------------------------------------------------------------------------


def setting_rows_ensure() -> None:
    """A row for every declared setting (value null: the default), so staff see them all."""
    have = set(SystemSetting.objects.filter(key__in=list(_REGISTRY))
               .values_list("key", flat=True))
    missing = [SystemSetting(key=k) for k in _REGISTRY if k not in have]
    if missing:
        SystemSetting.objects.bulk_create(missing, ignore_conflicts=True)


def setting_set(*, key: str, value) -> SystemSetting:
    """Store ``value`` (None: back to the default) after validating it against the
    declaration; raises ``ValidationError({"value": ...})``."""
    from . import audit, context

    setting = declaration(key)
    if value is not None:
        try:
            value = setting.clean(value)
        except ValidationError as exc:
            raise ValidationError({"value": exc.messages}) from exc
    with transaction.atomic():
        row, _created = SystemSetting.objects.select_for_update().get_or_create(key=key)
        if row.value == value:
            return row
        before = audit.snapshot(row)
        row.value = value
        row.save(update_fields=["value", "updated_at"])
        if context.current() is None:  # in a request the audit signals record it
            audit.record(action=AuditEntry.Action.UPDATE, instance=row, before=before,
                         after=audit.snapshot(row))
        invalidate()
    return row


@receiver(post_save, sender=SystemSetting, dispatch_uid="core.live_settings.saved")
@receiver(post_delete, sender=SystemSetting, dispatch_uid="core.live_settings.deleted")
def _on_row_change(*, instance, **kwargs) -> None:
    """Any write to a declared setting's row (the admin's delete, a shell) drops the cached
    values too; rows of undeclared keys are never read, so they leave the cache alone."""
    if instance.key in _REGISTRY:
        invalidate()


# --- the kernel's own settings -------------------------------------------------------------


def _language_choices() -> list[tuple[str, str]]:
    return [(code, str(name)) for code, name in settings.LANGUAGES]


def _site_language() -> str:
    """LANGUAGE_CODE if it is a listed language, else its base ("en-us" -> "en")."""
    codes = {code for code, _ in settings.LANGUAGES}
    code = settings.LANGUAGE_CODE
    return code if code in codes else code.split("-")[0]


def _validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone name (e.g. Europe/Lisbon).")


def _validate_sender(value: str) -> None:
    # "Name <address>" or a bare address, as Django's mail accepts.
    address = value.rsplit("<", 1)[-1].rstrip(">").strip() if "<" in value else value
    validate_email(address)


MAINTENANCE_MODE = declare(
    "maintenance_mode", type=bool, default=False,
    help_text="On: the API answers 503 with the maintenance message and pages show it; "
              "staff still reach the admin (and everything else once signed in there).")
MAINTENANCE_MESSAGE = declare(
    "maintenance_message", type=str, multiline=True,
    default="Synapscale is down for maintenance. Please try again in a few minutes.",
    help_text="What callers see while maintenance mode is on.",
    validators=(lambda v: _not_blank(v),))
DEFAULT_LANGUAGE = declare(
    "default_language", type=str, default=lambda: _site_language(),
    choices=_language_choices, help_text="Language of new accounts and of pages for visitors.")
DEFAULT_TIME_ZONE = declare(
    "default_time_zone", type=str, default=lambda: settings.TIME_ZONE,
    validators=(_validate_time_zone,),
    help_text="Time zone of new accounts (IANA name, e.g. America/Sao_Paulo).")
SIGNUP_OPEN = declare(
    "signup_open", type=bool, default=True,
    help_text="Off: POST /api/v1/auth/register/ refuses new accounts (staff still create "
              "them in the admin).")
UPLOAD_MAX_MB = declare(
    "upload_max_mb", type=int, min_value=1, max_value=10_240,
    default=lambda: max(1, settings.FILE_UPLOAD_MAX_BYTES // (1024 * 1024)),
    help_text="Largest file accepted by uploads, in MB.")
REPORT_SENDER = declare(
    "report_sender", type=str, default=lambda: settings.REPORT_FROM_EMAIL,
    validators=(_validate_sender,),
    help_text='The From of report emails: an address or "Name <address>".')


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Write the message callers should see.")


def upload_max_bytes() -> int:
    """The upload size limit in bytes (for the upload checks)."""
    return get("upload_max_mb") * 1024 * 1024


__all__ = ["Setting", "declare", "declared", "get", "invalidate",
           "setting_rows_ensure", "setting_set", "upload_max_bytes", "values"]
