"""Models of the webhooks app: endpoints (where to send), messages (what happened),
deliveries (one message to one endpoint, with its retry state) and attempts (the log of
every request made)."""

from .deliveries import WebhookAttempt, WebhookDelivery
from .endpoints import WebhookEndpoint
from .messages import WebhookMessage

__all__ = ["WebhookAttempt", "WebhookDelivery", "WebhookEndpoint", "WebhookMessage"]
