"""What the webhooks app plugs into at start-up: its own event, and the fan-out of every
domain event to the workspace's endpoints."""


def connect() -> None:
    """Register ``webhooks.test``, subscribe the delivery fan-out to core.events and have
    ``rotate_secrets`` re-encrypt the endpoints' signing secrets."""
    from core import events as core_events
    from workspaces.services import vault

    from . import events
    from .services import fanout, signing

    events.register()
    core_events.subscribe(fanout.on_event)
    vault.register_reencryptor("webhook endpoint secret", signing.secrets_reencrypt)
