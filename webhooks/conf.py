"""The webhooks app's settings with their defaults (``config/settings`` may override each)."""

from __future__ import annotations

from django.conf import settings

DEFAULTS = {
    # Hosts the outbound guard lets through although they are internal ("name",
    # "name:port", ".domain"): how tests reach their local receiver.
    "WEBHOOKS_ALLOWED_HOSTS": [],
    # Seconds one request may take, and the most of a response body read.
    "WEBHOOKS_TIMEOUT": 15.0,
    "WEBHOOKS_MAX_RESPONSE_BYTES": 256 * 1024,
    # Delay before each attempt, in seconds: the first at once, then 5 s, 5 min, 30 min,
    # 2 h, 5 h and 10 h later; each delay varies by +/- WEBHOOKS_RETRY_JITTER of itself.
    "WEBHOOKS_RETRY_SCHEDULE": [0, 5, 300, 1800, 7200, 18000, 36000],
    "WEBHOOKS_RETRY_JITTER": 0.1,
    # An endpoint failing without a success for this long is disabled (owner emailed).
    "WEBHOOKS_DISABLE_AFTER_SECONDS": 5 * 24 * 3600,
    # After a rotation the previous secret signs too, for this long.
    "WEBHOOKS_ROTATION_GRACE_SECONDS": 24 * 3600,
    # Retries due within this many seconds ride on a Celery countdown; later ones are
    # sent by the beat task (keep well below the broker's visibility timeout).
    "WEBHOOKS_ETA_MAX_SECONDS": 300,
    # Characters of request and response bodies kept in the attempt log.
    "WEBHOOKS_LOG_BODY_CHARS": 4096,
    # Deliveries the beat task sends per run, at most.
    "WEBHOOKS_DUE_BATCH": 1000,
    # Days a message, its deliveries and their attempt log are kept once none is open.
    "WEBHOOKS_LOG_RETENTION_DAYS": 30,
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])
