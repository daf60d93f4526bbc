"""Domain events: apps announce what happened; other apps react without importing them.

An app registers the events it emits in its ``AppConfig.ready()``::

    events.register("reports.run.succeeded", version=1, description="...")

and its services emit them when a state change is final::

    events.emit("reports.run.succeeded", {"run": run.pk}, workspace_id=run.workspace_id)

Consumers (workflow event triggers, outbound webhooks, analytics) ``subscribe`` a
handler that receives every ``Event``.  Inside a transaction an event is
dispatched once it commits (``transaction.on_commit``), so a rolled-back change
announces nothing; outside one it is dispatched at once.  Dispatch is
in-process and synchronous: a handler that has slow work to do hands it to Celery.

Emitting an unregistered name is a programming error and raises
``UnknownEvent``.  A handler that fails is logged and does not stop the emitter
or the other handlers: the change it reacts to has already happened.

The kernel imports no app: apps register with it.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

log = logging.getLogger(__name__)


class UnknownEvent(LookupError):
    """An event name nobody registered (a typo, or a missing ``register`` call)."""


@dataclass(frozen=True)
class EventType:
    name: str
    version: int = 1
    description: str = ""


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
_handlers: list[Callable[[Event], None]] = []


def register(name: str, *, version: int = 1, description: str = "") -> None:
    """Declare an event; registering the same name and version again changes nothing."""
    if not name or name != name.strip() or "." not in name:
        raise ImproperlyConfigured(f"Event names are dotted, e.g. 'reports.run.succeeded', "
                                   f"not {name!r}.")
    known = _types.get(name)
    if known is not None and known.version != version:
        raise ImproperlyConfigured(f"Event {name!r} is registered as version {known.version}; "
                                   f"cannot register it again as version {version}.")
    _types[name] = EventType(name=name, version=version, description=description)


def registered() -> dict[str, EventType]:
    """The registered events by name (for pickers and validation)."""
    return dict(_types)


def is_registered(name: str) -> bool:
    return name in _types


def subscribe(handler: Callable[[Event], None]) -> None:
    """Call ``handler(event)`` for every event from now on (once, however often subscribed)."""
    if handler not in _handlers:
        _handlers.append(handler)


def unsubscribe(handler: Callable[[Event], None]) -> None:
    if handler in _handlers:
        _handlers.remove(handler)


def emit(name: str, payload: dict, *, workspace_id: int) -> Event:
    """Announce ``name`` for ``workspace_id``: dispatched when the current transaction
    commits (dropped if it rolls back), or now outside a transaction."""
    event_type = _types.get(name)
    if event_type is None:
        raise UnknownEvent(f"No event {name!r} is registered; register it in the emitting "
                           "app's AppConfig.ready() (core.events.register).")
    # A JSON copy: consumers store it (execution input), and a later change to the
    # emitter's dict must not change what was announced.
    data = json.loads(json.dumps(payload or {}, cls=DjangoJSONEncoder))
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
