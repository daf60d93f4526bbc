"""Domain events: apps announce what happened; other apps react without importing them.

An app registers the events it emits in its ``AppConfig.ready()``, each with the
JSON Schema (draft 2020-12) of its payload::

    events.register("reports.run.succeeded", version=1, description="...",
                    schema={"type": "object", "properties": {"run": {"type": "integer"}},
                            "required": ["run"]})

and its services emit them when a state change is final::

    events.emit("reports.run.succeeded", {"run": run.pk}, workspace_id=run.workspace_id)

Consumers (workflow event triggers, outbound webhooks, analytics) ``subscribe`` a
handler that receives every ``Event``.  Inside a transaction an event is
dispatched once it commits (``transaction.on_commit``), so a rolled-back change
announces nothing; outside one it is dispatched at once.  Dispatch is
in-process and synchronous: a handler that has slow work to do hands it to Celery.

The registered events with their schemas form one catalogue (``catalogue()``),
served at ``GET /api/v1/events/types/`` and written to ``docs/events.md``
(``manage.py event_catalogue``): what every consumer may rely on.  With
``settings.EVENTS_VALIDATE_PAYLOADS`` (on in the test settings) ``emit`` checks
each payload against its schema and raises ``InvalidPayload``, so a test that
exercises an emitter catches drift from the documented payload.

Emitting an unregistered name is a programming error and raises
``UnknownEvent``.  A handler that fails is logged and does not stop the emitter
or the other handlers: the change it reacts to has already happened.

The kernel imports no app: apps register with it.
"""

from __future__ import annotations

import copy
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

log = logging.getLogger(__name__)


class UnknownEvent(LookupError):
    """An event name nobody registered (a typo, or a missing ``register`` call)."""


class InvalidPayload(ValueError):
    """A payload that breaks its event's schema (raised only when validation is on)."""


@dataclass(frozen=True)
class EventType:
    name: str
    version: int = 1
    description: str = ""
    #: JSON Schema (draft 2020-12) of the payload; None: undocumented.
    schema: dict | None = field(default=None, hash=False)


@dataclass(frozen=True)
class Event:
    """One occurrence; ``id`` is unique and stable (consumers deduplicate on it)."""

    name: str
    version: int
    workspace_id: int
    payload: dict
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: datetime = field(default_factory=timezone.now)

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "version": self.version,
                "workspace_id": self.workspace_id, "occurred_at": self.occurred_at.isoformat(),
                "payload": self.payload}


_types: dict[str, EventType] = {}
_validators: dict[str, Draft202012Validator] = {}
_handlers: list[Callable[[Event], None]] = []

#: Formats checked in payloads.  jsonschema checks ``date-time`` only with an extra
#: package installed; emitters send ``datetime.isoformat()``, which this reads back.
_formats = FormatChecker()


@_formats.checks("date-time", raises=ValueError)
def _is_date_time(value) -> bool:
    return not isinstance(value, str) or datetime.fromisoformat(value) is not None


def register(name: str, *, version: int = 1, description: str = "",
             schema: dict | None = None) -> None:
    """Declare an event and the JSON Schema of its payload; registering the same name
    and version again replaces the description and schema."""
    if not name or name != name.strip() or "." not in name:
        raise ImproperlyConfigured(f"Event names are dotted, e.g. 'reports.run.succeeded', "
                                   f"not {name!r}.")
    known = _types.get(name)
    if known is not None and known.version != version:
        raise ImproperlyConfigured(f"Event {name!r} is registered as version {known.version}; "
                                   f"cannot register it again as version {version}.")
    if schema is not None:
        _check_schema(name, schema)
        _validators[name] = Draft202012Validator(schema, format_checker=_formats)
    else:
        _validators.pop(name, None)
    _types[name] = EventType(name=name, version=version, description=description,
                             schema=schema)


def _check_schema(name: str, schema: dict) -> None:
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise ImproperlyConfigured(f"The schema of event {name!r} must describe a JSON "
                                   'object ({"type": "object", ...}): payloads are objects.')
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top)"
        raise ImproperlyConfigured(f"The schema of event {name!r} is not a valid JSON "
                                   f"Schema (draft 2020-12) at {where}: {exc.message}") from exc


def registered() -> dict[str, EventType]:
    """The registered events by name (for pickers and validation)."""
    return dict(_types)


def is_registered(name: str) -> bool:
    return name in _types


def catalogue() -> list[dict]:
    """The events the installed apps emit, sorted by name: name, version, description
    and the payload's schema.

    An app's events are named after its label (``reports.run.succeeded``); events
    registered by anything else (a test's own) are left out.
    """
    labels = {config.label for config in apps.get_app_configs()}
    return [{"name": t.name, "version": t.version, "description": t.description,
             "schema": copy.deepcopy(t.schema)}
            for t in sorted(_types.values(), key=lambda t: t.name)
            if t.name.split(".", 1)[0] in labels]


def validate(name: str, payload: dict) -> None:
    """Raise ``InvalidPayload`` naming every place ``payload`` breaks the schema of
    ``name`` (an event without a schema accepts anything)."""
    validator = _validators.get(name)
    if validator is None:
        return
    problems = sorted(validator.iter_errors(payload), key=lambda e: list(e.absolute_path))
    if problems:
        lines = [f"{'/'.join(str(p) for p in e.absolute_path) or '(payload)'}: {e.message}"
                 for e in problems]
        raise InvalidPayload(f"The payload of {name!r} does not match its schema "
                             f"(core.events.register in the emitting app): "
                             + "; ".join(lines))


def subscribe(handler: Callable[[Event], None]) -> None:
    """Call ``handler(event)`` for every event from now on (once, however often subscribed)."""
    if handler not in _handlers:
        _handlers.append(handler)


def unsubscribe(handler: Callable[[Event], None]) -> None:
    if handler in _handlers:
        _handlers.remove(handler)


def emit(name: str, payload: dict, *, workspace_id: int) -> Event:
    """Announce ``name`` for ``workspace_id``: dispatched when the current transaction
    commits (dropped if it rolls back), or now outside a transaction.

    ``InvalidPayload`` when validation is on and the payload breaks the schema.
    """
    event_type = _types.get(name)
    if event_type is None:
        raise UnknownEvent(f"No event {name!r} is registered; register it in the emitting "
                           "app's AppConfig.ready() (core.events.register).")
    # A JSON copy: consumers store it (execution input), and a later change to the
    # emitter's dict must not change what was announced.
    data = json.loads(json.dumps(payload or {}, cls=DjangoJSONEncoder))
    if getattr(settings, "EVENTS_VALIDATE_PAYLOADS", False):
        validate(name, data)  # what consumers receive, after the JSON round trip
    event = Event(name=name, version=event_type.version, workspace_id=workspace_id,
                  payload=data)
    transaction.on_commit(lambda: dispatch(event))  # runs at once outside a transaction
    return event


def dispatch(event: Event) -> None:
    """Hand ``event`` to every handler; one that raises is logged and skipped."""
    for handler in list(_handlers):
        try:
            handler(event)
        except Exception:
            log.exception("Event handler %r failed on %s (event %s)",
                          getattr(handler, "__qualname__", handler), event.name, event.id)
