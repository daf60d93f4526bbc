"""What the webhooks app plugs into at start-up: its own event, and the fan-out of every
domain event to the workspace's endpoints."""


def connect() -> None:
    """Register ``webhooks.test`` and subscribe the delivery fan-out to core.events."""
    from core import events as core_events

    from . import events
    from .services import fanout

    events.register()
    core_events.subscribe(fanout.on_event)
