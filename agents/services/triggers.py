"""Agent triggers: what starts a conversation without a person typing.

* **Schedule** (``{"cron": "0 8 * * 1", "timezone": "UTC", "message": "Weekly summary"}``):
  a django-celery-beat ``PeriodicTask`` kept in step with the trigger (``core.beat``)
  fires ``agents.tasks.triggers.fire_schedule(trigger_id=...)``; the tick maps to its
  slot and one conversation is made per (trigger, slot), so a duplicated tick starts
  nothing new.
* **Event** (``{"event": "workflows.execution.failed", "message": "Explain {{ payload }}",
  "filter": {...}}``): ``on_event`` (subscribed to ``core.events`` by ``connect`` in
  ``AgentsConfig.ready``) starts one conversation per matching trigger and event id; the
  message is a template over ``payload`` and ``event``.
* **Webhook** (``{"message_field": "message", "auth": "none" | "hmac" | "token",
  "secret": <vault secret id>, "max_body_bytes": 65536}``): a POST of a JSON object to
  ``/api/v1/hooks/agents/<webhook_token>/`` (``webhook_receive``).  The unguessable
  token is the credential with auth ``none``; ``hmac`` and ``token`` also check the
  body's signature or a bearer value against a secret of the workspace vault, as
  workflow webhooks do.  ``Idempotency-Key`` makes a repeated delivery return the first
  conversation.

The conversation is created at once (so callers get its id) and answered on Celery
(``agents.tasks.triggers.answer``) through ``agents.services.chat.run_turn`` with
``principal=None``: a trigger is the system acting, already authorised by whoever set
it up.  Only enabled triggers of **active** agents with a published version fire.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.signals import post_delete
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from jinja2 import TemplateError, meta

from core import beat, cron, events, webhooks
from core.api.errors import ApiError
from core.api.parsers import parse_json
from workflows import expressions
from workspaces.models import Secret
from workspaces.services.vault import decrypt

from ..models import Agent, AgentTrigger, Conversation

log = logging.getLogger(__name__)

FIRE_TASK = "agents.tasks.triggers.fire_schedule"
ANSWER_TASK = "agents.tasks.triggers.answer"
Kind = AgentTrigger.Kind

WEBHOOK_AUTH = ("none", "hmac", "token")
WEBHOOK_DEFAULT_BODY_BYTES = 64 * 1024
WEBHOOK_MAX_BODY_BYTES = 1024 * 1024
SIGNATURE_HEADER = webhooks.SIGNATURE_HEADER
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX = 200
MESSAGE_MAX_CHARS = 32_000
#: Names an event trigger's message template may use.
EVENT_SCOPE = frozenset({"payload", "event"})
_CHANNEL = {Kind.SCHEDULE: Conversation.Channel.SCHEDULE, Kind.EVENT: Conversation.Channel.EVENT,
            Kind.WEBHOOK: Conversation.Channel.WEBHOOK}


# --- configuration ------------------------------------------------------------------------


def config_clean(kind: str, config, *, workspace_id: int | None = None) -> dict:
    """``config`` checked and completed for ``kind``; ``ValidationError`` naming the key."""
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ValidationError({"config": ["Must be a JSON object."]})
    cleaner = {Kind.SCHEDULE: _schedule_config, Kind.EVENT: _event_config,
               Kind.WEBHOOK: _webhook_config}.get(kind)
    if cleaner is None:
        raise ValidationError({"kind": [f"Choose one of: {', '.join(Kind.values)}."]})
    problems: list[str] = []
    cleaned = cleaner(dict(config), problems, workspace_id)
    if problems:
        raise ValidationError({"config": problems})
    return cleaned


def _unknown_keys(config: dict, allowed: set[str], problems: list[str]) -> None:
    for key in sorted(set(config) - allowed):
        problems.append(f"{key}: not a setting of this trigger kind (allowed: "
                        f"{', '.join(sorted(allowed))}).")


def _message(config: dict, problems: list[str], *, required: bool = True) -> str:
    message = config.get("message")
    if not isinstance(message, str) or not message.strip():
        if required:
            problems.append("message: required, the text the agent is sent.")
        return ""
    if len(message) > MESSAGE_MAX_CHARS:
        problems.append(f"message: at most {MESSAGE_MAX_CHARS} characters.")
    return message


def _schedule_config(config: dict, problems: list[str], workspace_id) -> dict:
    _unknown_keys(config, {"cron", "timezone", "message"}, problems)
    expression = config.get("cron")
    tz = config.get("timezone") or "UTC"
    if not isinstance(expression, str) or not expression.strip():
        problems.append('cron: required, five fields, e.g. "0 8 * * 1" (08:00 on Mondays).')
    elif not isinstance(tz, str):
        problems.append("timezone: a time zone name such as Europe/Lisbon.")
    else:
        try:
            parsed = cron.parse(expression, tz)
        except ValueError as exc:
            problems.append(f"{'timezone' if 'time zone' in str(exc) else 'cron'}: {exc}")
        else:
            if cron.next_fire(parsed, timezone.now()) is None:
                problems.append("cron: this schedule does not fire in the next five years.")
    message = _message(config, problems)
    return {"cron": " ".join((expression or "").split()) if isinstance(expression, str)
            else expression, "timezone": tz, "message": message}


def _template_problems(text: str) -> list[str]:
    if not expressions.is_template(text):
        return []
    try:
        tree = expressions._env.parse(text)
    except TemplateError as exc:
        return [f"message: {' '.join(str(exc).split())}"]
    unknown = sorted(meta.find_undeclared_variables(tree) - EVENT_SCOPE
                     - set(expressions._env.globals))
    return [f"message: unknown name {name!r} (use payload and event)." for name in unknown]


def _event_config(config: dict, problems: list[str], workspace_id) -> dict:
    _unknown_keys(config, {"event", "message", "filter"}, problems)
    name = config.get("event")
    if not isinstance(name, str) or not events.is_registered(name):
        known = ", ".join(sorted(events.registered())) or "none"
        problems.append(f"event: {name!r} is not a known event (known: {known}).")
    message = _message(config, problems)
    problems.extend(_template_problems(message))
    condition = config.get("filter", {})
    if not isinstance(condition, dict) or any(
            isinstance(value, dict | list) for value in condition.values()):
        problems.append('filter: payload keys and the values they must equal, e.g. '
                        '{"workflow": 12} (numbers, strings, booleans or null).')
    return {"event": name, "message": message,
            "filter": condition if isinstance(condition, dict) else {}}


def _webhook_config(config: dict, problems: list[str], workspace_id) -> dict:
    _unknown_keys(config, {"message_field", "auth", "secret", "max_body_bytes"}, problems)
    field = config.get("message_field", "message")
    if not isinstance(field, str) or not field.strip() or len(field) > 100:
        problems.append('message_field: the key of the body holding the message, e.g. '
                        '"message".')
    auth = config.get("auth", "none")
    if auth not in WEBHOOK_AUTH:
        problems.append('auth: "none" (the address is the credential), "hmac" '
                        '(X-Synapscale-Signature: sha256=<hex HMAC of the body>) or "token" '
                        '(Authorization: Bearer <secret>).')
    secret = config.get("secret")
    if auth in ("hmac", "token"):
        if isinstance(secret, bool) or not isinstance(secret, int) or not Secret.objects.filter(
                pk=secret, workspace_id=workspace_id).exists():
            problems.append(f"secret: auth {auth!r} needs the id of a secret of this "
                            "workspace's vault.")
    elif secret is not None:
        problems.append('secret: only used with auth "hmac" or "token".')
    size = config.get("max_body_bytes", WEBHOOK_DEFAULT_BODY_BYTES)
    if isinstance(size, bool) or not isinstance(size, int) \
            or not 1 <= size <= WEBHOOK_MAX_BODY_BYTES:
        problems.append(f"max_body_bytes: a whole number from 1 to {WEBHOOK_MAX_BODY_BYTES}.")
    cleaned = {"message_field": field, "auth": auth, "max_body_bytes": size}
    if auth in ("hmac", "token"):
        cleaned["secret"] = secret
    return cleaned


# --- create, update, delete ---------------------------------------------------------------


def trigger_create(*, agent: Agent, kind: str, **fields) -> AgentTrigger:
    trigger = AgentTrigger(workspace_id=agent.workspace_id, agent=agent, kind=kind, **fields)
    return trigger_save(trigger)


def trigger_update(trigger: AgentTrigger, **fields) -> AgentTrigger:
    for name, value in fields.items():
        setattr(trigger, name, value)
    return trigger_save(trigger)


@transaction.atomic
def trigger_save(trigger: AgentTrigger) -> AgentTrigger:
    """Validate and save ``trigger`` (new or changed); keep its beat entry in step.  The
    API's serializer and the admin's form call this with the instance they built."""
    trigger.config = config_clean(trigger.kind, trigger.config,
                                  workspace_id=trigger.workspace_id)
    trigger.full_clean()
    trigger.save()
    trigger_schedule_sync(trigger)
    return trigger


def trigger_schedule_sync(trigger: AgentTrigger) -> PeriodicTask | None:
    """Create, update or remove the trigger's beat entry to match it."""
    scheduled = trigger.kind == Kind.SCHEDULE
    return beat.owner_schedule_sync(
        trigger, name=f"agent-trigger-{trigger.pk}", task_path=FIRE_TASK,
        kwargs={"trigger_id": trigger.pk},
        cron=cron.parse(trigger.config["cron"], trigger.config["timezone"]) if scheduled
        else None,
        # A paused agent keeps its entry: the tick checks the agent's status.
        enabled=trigger.enabled,
        description=f"Schedule of agent \"{trigger.agent}\" (trigger {trigger.pk}), "
                    f"workspace {trigger.workspace_id}. Edit it on the agent's trigger.")


@transaction.atomic
def trigger_delete(trigger: AgentTrigger) -> None:
    task_id = trigger.periodic_task_id
    trigger.delete()
    PeriodicTask.objects.filter(pk=task_id).delete()


# --- firing ---------------------------------------------------------------------------------


def _ready(agent: Agent) -> bool:
    return agent.status == Agent.Status.ACTIVE and agent.live_configuration_id is not None


def _start(trigger: AgentTrigger, text: str, marker: dict) -> tuple[Conversation, bool]:
    """The conversation ``marker`` names for ``trigger`` (created and queued if new;
    an empty marker always makes a new one).

    The trigger's row lock makes racing deliveries of one marker (a duplicated tick, an
    event handled twice, a retried webhook) find one conversation.
    """
    with transaction.atomic():
        AgentTrigger.objects.select_for_update().filter(pk=trigger.pk).first()
        if marker:
            lookup = {f"metadata__{key}": value for key, value in marker.items()}
            found = (Conversation.objects.filter(agent_id=trigger.agent_id,
                                                 metadata__trigger=trigger.pk, **lookup)
                     .order_by("pk").first())
            if found is not None:
                return found, False
        conversation = Conversation.objects.create(
            workspace_id=trigger.workspace_id, agent_id=trigger.agent_id,
            channel=_CHANNEL[trigger.kind], title=" ".join(text.split())[:200],
            metadata={"trigger": trigger.pk, **marker})
        AgentTrigger.objects.filter(pk=trigger.pk).update(last_fired_at=timezone.now())
        transaction.on_commit(lambda: _queue_answer(conversation.pk, text))
    return conversation, True


def _queue_answer(conversation_id: int, text: str) -> None:
    from ..tasks.triggers import answer  # the task module imports this one

    answer.delay(conversation_id, text)


def answer(conversation_id: int, text: str) -> Conversation | None:
    """Run the chat turn of a conversation a trigger started (what the task does).

    A conversation that already has messages was answered by an earlier delivery of
    the task: it is not answered twice.  Errors are the chat loop's to record (on the
    conversation and the agent's error log); here they are only logged.
    """
    from . import chat  # imported late: chat imports tools, which import workflows

    conversation = (Conversation.objects.select_related("agent")
                    .filter(pk=conversation_id).first())
    if conversation is None or conversation.messages.exists():
        return conversation
    try:
        chat.run_turn(agent=conversation.agent, text=text, principal=None,
                      conversation=conversation, channel=conversation.channel)
    except ApiError as exc:
        log.warning("Trigger conversation %s of agent %s was not answered: %s (%s)",
                    conversation_id, conversation.agent_id, exc.message, exc.error_code)
    conversation.refresh_from_db()
    return conversation


def fire_schedule(trigger_id: int, tick_at: datetime) -> Conversation | None:
    """The conversation of the slot a beat tick at ``tick_at`` is for (started if new).

    ``None`` when the trigger is gone, disabled, not a schedule, or its agent is not
    active with a published version: a tick is not retried, the next one tries again.
    """
    trigger = AgentTrigger.objects.select_related("agent").filter(pk=trigger_id).first()
    if trigger is None or trigger.kind != Kind.SCHEDULE or not trigger.enabled \
            or not _ready(trigger.agent):
        log.info("Agent schedule trigger %s is gone, disabled or its agent is not ready; "
                 "tick ignored.", trigger_id)
        return None
    config = trigger.config or {}
    try:
        slot = cron.previous_fire(cron.parse(config.get("cron", ""),
                                             config.get("timezone") or "UTC"), tick_at)
    except ValueError:
        log.warning("Agent schedule trigger %s has a bad schedule %r; tick ignored.",
                    trigger_id, config)
        return None
    if slot is None or not config.get("message"):
        return None
    conversation, created = _start(trigger, config["message"], {"slot": slot.isoformat()})
    if not created:
        log.info("Conversation %s already exists for agent trigger %s at %s: duplicate "
                 "tick.", conversation.pk, trigger_id, slot.isoformat())
    return conversation


def event_matches(trigger: AgentTrigger, event: events.Event) -> bool:
    condition = (trigger.config or {}).get("filter") or {}
    payload = event.payload if isinstance(event.payload, dict) else {}
    return all(key in payload and payload[key] == value for key, value in condition.items())


def _loops(trigger: AgentTrigger, event: events.Event) -> bool:
    """An agent's reply does not restart it, and a reply in a conversation an event
    started starts no other: agents cannot answer each other for ever."""
    if not event.name.startswith("agents."):
        return False
    payload = event.payload if isinstance(event.payload, dict) else {}
    return payload.get("agent") == trigger.agent_id or \
        payload.get("channel") == Conversation.Channel.EVENT


def render_message(template: str, event: events.Event) -> str:
    scope = {"payload": event.payload, "event": event.as_dict()}
    text = expressions.render_value(template, scope, "message")
    if isinstance(text, str):
        return text
    # "{{ payload }}" alone keeps its type: the agent reads it as JSON.
    return json.dumps(text, ensure_ascii=False, default=str)


def on_event(event: events.Event) -> list[Conversation]:
    """Start the conversations of the event triggers ``event`` matches (once per event)."""
    started = []
    candidates = (AgentTrigger.objects.select_related("agent")
                  .filter(kind=Kind.EVENT, enabled=True, workspace_id=event.workspace_id,
                          agent__status=Agent.Status.ACTIVE,
                          agent__live_configuration__isnull=False, config__event=event.name)
                  .order_by("pk"))
    for trigger in candidates:
        if not event_matches(trigger, event) or _loops(trigger, event):
            continue
        try:
            text = render_message(trigger.config.get("message") or "", event)
            conversation, created = _start(trigger, text, {"event": event.id})
        except Exception:  # one trigger that cannot fire does not stop the others
            log.exception("Event %s (%s) could not start a conversation of agent %s "
                          "(trigger %s)", event.name, event.id, trigger.agent_id, trigger.pk)
            continue
        if created:
            started.append(conversation)
    return started


# --- webhooks -----------------------------------------------------------------------------


def _webhook_trigger(token: str) -> AgentTrigger:
    trigger = (AgentTrigger.objects.select_related("agent")
               .filter(webhook_token=token, kind=Kind.WEBHOOK, enabled=True)
               .exclude(agent__status=Agent.Status.ARCHIVED).first()
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


def _authenticate(trigger: AgentTrigger, body: bytes, headers: Mapping) -> None:
    config = trigger.config or {}
    auth = config.get("auth", "none")
    if auth == "none":
        return
    row = Secret.objects.filter(pk=config.get("secret"),
                                workspace_id=trigger.workspace_id).first()
    webhooks.authenticate(
        auth=auth, secret=decrypt(row.ciphertext) if row is not None else "", body=body,
        headers=headers,
        missing="This webhook's secret is missing from the vault; set it on the trigger.")


def webhook_receive(*, token: str, body: bytes, headers: Mapping) -> tuple[Conversation, bool]:
    """Check a webhook delivery and start (or find) its conversation: (it, created now).

    In this order, so a caller without the secret learns nothing about the agent: the
    address (404), the size (413), the secret (401), the agent's state (409
    ``agent_not_ready``), the body (400), the ``Idempotency-Key`` (400).
    """
    trigger = _webhook_trigger(token)
    config = trigger.config or {}
    limit = int(config.get("max_body_bytes") or WEBHOOK_DEFAULT_BODY_BYTES)
    if len(body) > limit:
        raise webhook_too_large(limit)
    headers = {str(k).lower(): str(v) for k, v in dict(headers).items()}
    _authenticate(trigger, body, headers)
    if not _ready(trigger.agent):
        raise ApiError(409, "agent_not_ready", "The agent is not active or has no published "
                                               "version; it accepts no deliveries.")
    data = parse_json(body) if body.strip() else {}
    field = config.get("message_field") or "message"
    if not isinstance(data, dict):
        raise ApiError(400, "invalid", "The body must be a JSON object.",
                       errors={"body": [f'Send a JSON object, e.g. {{"{field}": "Hello"}}.']})
    text = data.get(field)
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "invalid", f"The body has no message in {field!r}.",
                       errors={field: ["Required: the text the agent is sent."]})
    if len(text) > MESSAGE_MAX_CHARS:
        raise ApiError(400, "invalid", "The message is too long.",
                       errors={field: [f"At most {MESSAGE_MAX_CHARS} characters."]})
    key = headers.get(IDEMPOTENCY_HEADER.lower(), "").strip()
    if len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise ApiError(400, "invalid", "The Idempotency-Key is not usable.",
                       errors={IDEMPOTENCY_HEADER: [f"At most {IDEMPOTENCY_KEY_MAX} "
                                                    "printable characters."]})
    return _start(trigger, text, {"delivery": key} if key else {})


def connect() -> None:
    """Wire triggers into the process (``AgentsConfig.ready``): the event handler, beat
    entry cleanup, beat tick stamping."""
    events.subscribe(on_event)
    post_delete.connect(beat.drop_owned_entry, sender=AgentTrigger,
                        dispatch_uid="agents-trigger-unschedule")
    beat.stamp_ticks(FIRE_TASK)
