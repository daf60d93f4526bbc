"""Back office of the webhooks app: endpoints (with their delivery log and actions),
messages, deliveries (with their attempts, and replay) and the attempt log."""

from . import deliveries, endpoints  # noqa: F401  (each registers its admins)
