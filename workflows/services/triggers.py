"""Triggers: what starts executions of a workflow without a person pressing "run".

* **Schedule** (``{"cron": "0 2 * * *", "timezone": "UTC", "input": {...}}``): a
  django-celery-beat ``PeriodicTask`` kept in step with the trigger
  (``core.beat``) fires ``workflows.trigger_tasks.fire_schedule(trigger_id=...)``;
  the tick maps to its slot and one execution is made per (trigger, slot), so a
  duplicated tick starts nothing new.
* **Event** (``{"event": "reports.run.succeeded", "filter": {"kind": "sales"}}``):
  ``on_event`` (subscribed to ``core.events`` in ``WorkflowsConfig.ready``)
  starts an execution of every matching trigger of the event's workspace, with
  the event's payload as input, once per event id.
* **Webhook** (``{"auth": "hmac" | "token", "max_body_bytes": 1048576}``): a
  POST to ``/api/v1/hooks/workflows/<webhook_token>/`` signed with the trigger's
  secret (``webhook_receive``); the ``Idempotency-Key`` header makes a repeated
  delivery return the first execution.

Only enabled triggers of **active** workflows fire.  Executions are started by
``workflows.services.executions.execution_start`` (imported late: the engine
imports this app's models, and services import each other).
"""

from __future__ import annotations

import logging
import secrets as _secrets
from collections.abc import Mapping
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.signals import post_delete
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from billing import entitlements
from core import beat, cron, events, webhooks
from core.api.errors import ApiError
from core.api.parsers import parse_json
from workspaces.services import vault
from workspaces.services.vault import decrypt, encrypt

from ..models import Execution, Trigger, Workflow

log = logging.getLogger(__name__)

FIRE_TASK = "workflows.trigger_tasks.fire_schedule"
Kind = Trigger.Kind

WEBHOOK_AUTH = ("hmac", "token")
WEBHOOK_DEFAULT_BODY_BYTES = 1024 * 1024
WEBHOOK_MAX_BODY_BYTES = 2_621_440  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE default
SIGNATURE_HEADER = webhooks.SIGNATURE_HEADER
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX = 200  # Execution.idempotency_key
SECRET_MIN_LENGTH = 16


# --- configuration ------------------------------------------------------------------------


def config_clean(kind: str, config, *, workflow: Workflow | None = None) -> dict:
    """``config`` checked and completed for ``kind``; ``ValidationError`` naming the key."""
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ValidationError({"config": ["Must be a JSON object."]})
    cleaner = {Kind.SCHEDULE: _schedule_config, Kind.EVENT: _event_config,
               Kind.WEBHOOK: _webhook_config, Kind.MANUAL: _manual_config}.get(kind)
    if cleaner is None:
        raise ValidationError({"kind": [f"Choose one of: {', '.join(Kind.values)}."]})
    problems: list[str] = []
    cleaned = cleaner(dict(config), problems, workflow)
    if problems:
        raise ValidationError({"config": problems})
    return cleaned


def _unknown_keys(config: dict, allowed: set[str], problems: list[str]) -> None:
    for key in sorted(set(config) - allowed):
        problems.append(f"{key}: not a setting of this trigger kind (allowed: "
                        f"{', '.join(sorted(allowed))}).")


def _schedule_config(config: dict, problems: list[str], workflow) -> dict:
    _unknown_keys(config, {"cron", "timezone", "input"}, problems)
    expression = config.get("cron")
    tz = config.get("timezone") or (workflow.timezone if workflow is not None else "UTC")
    if not isinstance(expression, str) or not expression.strip():
        problems.append('cron: required, five fields, e.g. "0 2 * * *" (02:00 every day).')
    elif not isinstance(tz, str):
        problems.append("timezone: a time zone name such as America/Sao_Paulo.")
    else:
        try:
            parsed = cron.parse(expression, tz)
        except ValueError as exc:
            problems.append(f"{'timezone' if 'time zone' in str(exc) else 'cron'}: {exc}")
        else:
            if cron.next_fire(parsed, timezone.now()) is None:
                problems.append("cron: this schedule does not fire in the next five years.")
    if "input" in config and not isinstance(config["input"], dict):
        problems.append("input: the input of each scheduled execution, a JSON object.")
    return {"cron": " ".join((expression or "").split()), "timezone": tz,
            **({"input": config["input"]} if "input" in config else {})}


def _event_config(config: dict, problems: list[str], workflow) -> dict:
    _unknown_keys(config, {"event", "filter"}, problems)
    name = config.get("event")
    if not isinstance(name, str) or not events.is_registered(name):
        known = ", ".join(sorted(events.registered())) or "none"
        problems.append(f"event: {name!r} is not a known event (known: {known}).")
    condition = config.get("filter", {})
    if not isinstance(condition, dict) or any(
            isinstance(value, dict | list) for value in condition.values()):
        problems.append('filter: payload keys and the values they must equal, e.g. '
                        '{"dataset": "sales"} (numbers, strings, booleans or null).')
    return {"event": name, "filter": condition if isinstance(condition, dict) else {}}


def _webhook_config(config: dict, problems: list[str], workflow) -> dict:
    _unknown_keys(config, {"auth", "max_body_bytes"}, problems)
    auth = config.get("auth", "hmac")
    if auth not in WEBHOOK_AUTH:
        problems.append('auth: "hmac" (X-Synapscale-Signature: sha256=<hex HMAC of the '
                        'body>) or "token" (Authorization: Bearer <secret>).')
    size = config.get("max_body_bytes", WEBHOOK_DEFAULT_BODY_BYTES)
    if isinstance(size, bool) or not isinstance(size, int) \
            or not 1 <= size <= WEBHOOK_MAX_BODY_BYTES:
        problems.append(f"max_body_bytes: a whole number from 1 to {WEBHOOK_MAX_BODY_BYTES}.")
    return {"auth": auth, "max_body_bytes": size}


def _manual_config(config: dict, problems: list[str], workflow) -> dict:
    _unknown_keys(config, set(), problems)
    return {}


# --- create, update, delete ---------------------------------------------------------------


def trigger_create(*, workflow: Workflow, kind: str, by=None, **fields) -> Trigger:
    """A new trigger; a webhook gets a secret, readable once as ``trigger.new_secret``."""
    trigger = Trigger(workspace_id=workflow.workspace_id, workflow=workflow, kind=kind,
                      **fields)
    trigger = trigger_save(trigger)
    if trigger.kind == Kind.WEBHOOK:
        trigger.new_secret = trigger_set_secret(trigger)
    return trigger


def trigger_update(trigger: Trigger, **fields) -> Trigger:
    for name, value in fields.items():
        setattr(trigger, name, value)
    return trigger_save(trigger)


@transaction.atomic
def trigger_save(trigger: Trigger) -> Trigger:
    """Validate and save ``trigger`` (new or changed); keep its beat entry in step.

    The admin calls this with the instance its form built.
    """
    trigger.config = config_clean(trigger.kind, trigger.config, workflow=trigger.workflow)
    if trigger.kind == Kind.SCHEDULE and trigger.enabled and not (
            trigger.pk and Trigger.objects.filter(pk=trigger.pk, kind=Kind.SCHEDULE,
                                                  enabled=True).exists()):
        entitlements.require(trigger.workspace_id, "schedules")  # a new schedule
    trigger.full_clean()
    trigger.save()
    trigger_schedule_sync(trigger)
    return trigger


def trigger_schedule_sync(trigger: Trigger) -> PeriodicTask | None:
    """Create, update or remove the trigger's beat entry to match it."""
    scheduled = trigger.kind == Kind.SCHEDULE
    return beat.owner_schedule_sync(
        trigger, name=f"workflow-trigger-{trigger.pk}", task_path=FIRE_TASK,
        kwargs={"trigger_id": trigger.pk},
        cron=cron.parse(trigger.config["cron"], trigger.config["timezone"]) if scheduled
        else None,
        # A paused workflow keeps its entry: the tick checks the workflow's status, so
        # pausing needs no change here.
        enabled=trigger.enabled,
        description=f"Schedule of workflow \"{trigger.workflow}\" (trigger {trigger.pk}), "
                    f"workspace {trigger.workspace_id}. Edit it on the trigger.")


@transaction.atomic
def trigger_delete(trigger: Trigger) -> None:
    task_id = trigger.periodic_task_id
    trigger.delete()
    PeriodicTask.objects.filter(pk=task_id).delete()


def trigger_set_secret(trigger: Trigger, value: str | None = None) -> str:
    """Set (or rotate) a webhook trigger's secret; the plain value is returned only here."""
    if trigger.kind != Kind.WEBHOOK:
        raise ValidationError({"kind": ["Only webhook triggers have a secret."]})
    if value is None:
        value = _secrets.token_urlsafe(32)
    if not isinstance(value, str) or len(value) < SECRET_MIN_LENGTH or value != value.strip():
        raise ValidationError({"secret": [f"At least {SECRET_MIN_LENGTH} characters, without "
                                          "surrounding spaces."]})
    trigger.secret_ciphertext = encrypt(value)
    trigger.save(update_fields=["secret_ciphertext", "updated_at"])
    return value


def trigger_secrets_reencrypt() -> int:
    """Re-encrypt every webhook trigger's secret under the vault's newest key
    (``rotate_secrets``); returns how many were rewritten."""
    done = 0
    with transaction.atomic():
        for trigger in (Trigger.objects.select_for_update().exclude(secret_ciphertext="")
                        .only("pk", "secret_ciphertext")):
            trigger.secret_ciphertext = encrypt(decrypt(trigger.secret_ciphertext))
            trigger.save(update_fields=["secret_ciphertext"])
            done += 1
    return done


# --- firing ---------------------------------------------------------------------------------


def _start(**kwargs) -> Execution:
    from .executions import execution_start  # written by the engine; imported late

    return execution_start(**kwargs)


def _fired(trigger: Trigger) -> None:
    Trigger.objects.filter(pk=trigger.pk).update(last_fired_at=timezone.now())


def trigger_fire_schedule(trigger_id: int, tick_at: datetime) -> Execution | None:
    """The execution of the slot a beat tick at ``tick_at`` is for (started if new).

    ``None`` when the trigger is gone, disabled, not a schedule, its workflow is
    not active, or the workflow cannot run (not published, bad input): a tick
    is not retried, the next one tries again.
    """
    trigger = (Trigger.objects.select_related("workflow").filter(pk=trigger_id).first())
    if trigger is None or trigger.kind != Kind.SCHEDULE or not trigger.enabled \
            or trigger.workflow.status != Workflow.Status.ACTIVE:
        log.info("Schedule trigger %s is gone, disabled or its workflow is not active; "
                 "tick ignored.", trigger_id)
        return None
    config = trigger.config or {}
    try:
        slot = cron.previous_fire(cron.parse(config.get("cron", ""),
                                             config.get("timezone") or "UTC"), tick_at)
    except ValueError:
        log.warning("Schedule trigger %s has a bad schedule %r; tick ignored.", trigger_id,
                    config)
        return None
    if slot is None:
        return None
    try:
        execution = _start(workflow=trigger.workflow, input=config.get("input") or {},
                           source=Execution.Source.SCHEDULE, trigger=trigger, slot=slot)
    except (ApiError, ValidationError) as exc:
        log.warning("Schedule trigger %s could not start workflow %s for %s: %s", trigger_id,
                    trigger.workflow_id, slot.isoformat(), exc)
        return None
    if getattr(execution, "created_now", True):
        _fired(trigger)
    else:
        log.info("Execution %s already exists for trigger %s at %s: duplicate tick.",
                 execution.pk, trigger_id, slot.isoformat())
    return execution


def event_matches(trigger: Trigger, event: events.Event) -> bool:
    condition = (trigger.config or {}).get("filter") or {}
    payload = event.payload if isinstance(event.payload, dict) else {}
    return all(key in payload and payload[key] == value for key, value in condition.items())


def on_event(event: events.Event) -> list[Execution]:
    """Start the executions of the event triggers ``event`` matches (once per event)."""
    started = []
    candidates = (Trigger.objects.select_related("workflow")
                  .filter(kind=Kind.EVENT, enabled=True, workspace_id=event.workspace_id,
                          workflow__status=Workflow.Status.ACTIVE,
                          config__event=event.name)
                  .order_by("pk"))
    own = event.payload.get("workflow") if event.name.startswith("workflows.") else None
    for trigger in candidates:
        if not event_matches(trigger, event) or trigger.workflow_id == own:
            continue  # a workflow never restarts itself on its own outcome (a loop)
        try:
            execution = _start(workflow=trigger.workflow, input=event.payload,
                               source=Execution.Source.EVENT, trigger=trigger,
                               idempotency_key=f"event:{event.id}")
        except Exception:  # one workflow that cannot run does not stop the others
            log.exception("Event %s (%s) could not start workflow %s (trigger %s)",
                          event.name, event.id, trigger.workflow_id, trigger.pk)
            continue
        _fired(trigger)
        started.append(execution)
    return started


# --- webhooks -----------------------------------------------------------------------------


def _webhook_trigger(token: str) -> Trigger:
    trigger = (Trigger.objects.select_related("workflow")
               .filter(webhook_token=token, kind=Kind.WEBHOOK, enabled=True)
               .exclude(workflow__status=Workflow.Status.ARCHIVED).first()
               if isinstance(token, str) and token else None)
    if trigger is None:
        raise ApiError(404, "not_found", "There is no webhook at this address (or it is "
                                         "disabled).")
    return trigger


def webhook_body_limit(token: str) -> int:
    """The most bytes the webhook at ``token`` accepts (404 if there is none)."""
    trigger = _webhook_trigger(token)
    return int((trigger.config or {}).get("max_body_bytes") or WEBHOOK_DEFAULT_BODY_BYTES)


webhook_too_large = webhooks.too_large
signature = webhooks.signature


def _authenticate(trigger: Trigger, body: bytes, headers: Mapping) -> None:
    secret = decrypt(trigger.secret_ciphertext) if trigger.secret_ciphertext else ""
    webhooks.authenticate(
        auth=(trigger.config or {}).get("auth", "hmac"), secret=secret, body=body,
        headers=headers, missing="This webhook has no secret yet; set one on the trigger first.")


def webhook_receive(*, token: str, body: bytes, headers: Mapping) -> Execution:
    """Authenticate a webhook delivery and start (or find) its execution.

    Checked in this order, so a caller without the secret learns nothing about
    the workflow: the address (404), the size (413), the secret (401), the
    workflow's state (409 ``workflow_not_active``), the body (400
    ``invalid_json``), the ``Idempotency-Key`` (400), then the workflow's input
    schema (400 naming the field).  The same key twice gives the first execution.
    """
    trigger = _webhook_trigger(token)
    limit = int((trigger.config or {}).get("max_body_bytes") or WEBHOOK_DEFAULT_BODY_BYTES)
    if len(body) > limit:
        raise webhook_too_large(limit)
    headers = {str(k).lower(): str(v) for k, v in dict(headers).items()}
    _authenticate(trigger, body, headers)
    workflow = trigger.workflow
    if workflow.status != Workflow.Status.ACTIVE:
        raise ApiError(409, "workflow_not_active",
                       f"The workflow is {workflow.get_status_display().lower()}; only "
                       "active workflows accept webhooks.")
    data = parse_json(body) if body.strip() else {}
    if not isinstance(data, dict):
        raise ApiError(400, "invalid", "The body must be a JSON object.",
                       errors={"body": ["Send a JSON object, e.g. {\"customer\": 42}."]})
    key = headers.get(IDEMPOTENCY_HEADER.lower(), "").strip()
    if len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise ApiError(400, "invalid", "The Idempotency-Key is not usable.",
                       errors={IDEMPOTENCY_HEADER: [f"At most {IDEMPOTENCY_KEY_MAX} "
                                                    "printable characters."]})
    execution = _start(workflow=workflow, input=data, source=Execution.Source.WEBHOOK,
                       trigger=trigger, idempotency_key=key)
    if getattr(execution, "created_now", True):
        _fired(trigger)
    return execution


def connect() -> None:
    """Wire triggers into the process (``WorkflowsConfig.ready``): event handler, cleanup,
    beat tick stamping, webhook secrets in the vault's key rotation."""
    events.subscribe(on_event)
    vault.register_reencryptor("workflow webhook trigger secret", trigger_secrets_reencrypt)
    post_delete.connect(beat.drop_owned_entry, sender=Trigger,
                        dispatch_uid="workflows-trigger-unschedule")
    beat.stamp_ticks(FIRE_TASK)
