"""Back office of the webhooks app."""
