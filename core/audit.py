"""The audit trail: every create, update and delete made in an admin or API request.

Changes are captured from model signals so that no view, admin form or service
can forget to record them; the request context (middleware) supplies actor,
IP, request id and source.  Outside a request (tasks, shell, migrations)
nothing is recorded here: services that matter there record explicitly with
``record()``.
"""

import hashlib
import json

from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

from . import context
from .models import AuditEntry, is_append_only, sensitive_fields

# System bookkeeping that changes as a side effect of requests, not data anyone edits.
EXCLUDED_MODELS = frozenset(
    {
        "admin.logentry",
        "contenttypes.contenttype",
        "sessions.session",
        "django_celery_beat.periodictasks",
        "django_celery_results.taskresult",
        "django_celery_results.groupresult",
        "django_celery_results.chordcounter",
        "otp_totp.totpdevice",  # throttling counters change on every code entry
    }
)
_BEFORE_ATTR = "_audit_before"


def is_audited(model: type[models.Model]) -> bool:
    return not is_append_only(model) and model._meta.label_lower not in EXCLUDED_MODELS


def snapshot(instance: models.Model) -> dict:
    """The instance's concrete field values as JSON-safe data, secrets redacted."""
    secret = sensitive_fields(type(instance))
    data = {}
    for field in instance._meta.concrete_fields:
        value = field.value_from_object(instance)
        if field.name in secret:
            value = _redacted(value)
        elif isinstance(field, models.FileField):
            value = value.name if value else ""
        data[field.attname if field.is_relation else field.name] = value
    return json.loads(json.dumps(data, cls=_SnapshotEncoder))


class _SnapshotEncoder(DjangoJSONEncoder):
    """Third-party fields may hold values JSON has no form for (django-celery-beat's
    ``ZoneInfo``): the trail records their text rather than failing the write."""

    def default(self, o):
        try:
            return super().default(o)
        except TypeError:
            return str(o)


def _redacted(value) -> str | None:
    # A short digest shows that a secret changed without revealing it.
    if value in (None, ""):
        return value
    return "redacted:" + hashlib.sha256(str(value).encode()).hexdigest()[:8]


def record(
    *, action: str, instance: models.Model, before: dict | None, after: dict | None
) -> AuditEntry:
    ctx = context.current()
    actor = ctx.actor if ctx else None
    return AuditEntry.objects.create(
        actor=actor,
        actor_repr=(ctx.actor_repr if ctx else "")[:254],
        ip_address=ctx.ip_address if ctx else None,
        request_id=ctx.request_id if ctx else "",
        source=ctx.source if ctx else AuditEntry.Source.OTHER,
        action=action,
        target_type=ContentType.objects.get_for_model(type(instance), for_concrete_model=False),
        target_id=str(instance.pk),
        target_repr=str(instance)[:200],
        before=before,
        after=after,
    )


def _changed(before: dict, after: dict, ignored: frozenset[str]) -> bool:
    return any(after.get(k) != before.get(k) for k in after if k not in ignored)


def _should_capture(sender, raw: bool = False) -> bool:
    return not raw and context.current() is not None and is_audited(sender)


def _on_pre_save(sender, instance, raw=False, **kwargs):
    if not _should_capture(sender, raw) or instance._state.adding or instance.pk is None:
        return
    stored = sender._default_manager.filter(pk=instance.pk).first()
    setattr(instance, _BEFORE_ATTR, snapshot(stored) if stored is not None else None)


def _on_post_save(sender, instance, created, raw=False, **kwargs):
    if not _should_capture(sender, raw):
        return
    after = snapshot(instance)
    before = instance.__dict__.pop(_BEFORE_ATTR, None)
    if created or before is None:
        record(action=AuditEntry.Action.CREATE, instance=instance, before=None, after=after)
        return
    ignored = frozenset(getattr(sender, "audit_ignore_fields", ()))
    if _changed(before, after, ignored):
        record(action=AuditEntry.Action.UPDATE, instance=instance, before=before, after=after)


def _on_pre_delete(sender, instance, **kwargs):
    if _should_capture(sender):
        setattr(instance, _BEFORE_ATTR, snapshot(instance))


def _on_post_delete(sender, instance, **kwargs):
    if not _should_capture(sender):
        return
    before = instance.__dict__.pop(_BEFORE_ATTR, None) or snapshot(instance)
    record(action=AuditEntry.Action.DELETE, instance=instance, before=before, after=None)


def connect_signals() -> None:
    pre_save.connect(_on_pre_save, dispatch_uid="core.audit.pre_save")
    post_save.connect(_on_post_save, dispatch_uid="core.audit.post_save")
    pre_delete.connect(_on_pre_delete, dispatch_uid="core.audit.pre_delete")
    post_delete.connect(_on_post_delete, dispatch_uid="core.audit.post_delete")
