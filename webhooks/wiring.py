"""What the webhooks app plugs into at start-up (the helper fills this in)."""


def connect() -> None:
    """Subscribe the delivery fan-out to core.events."""
