"""Scheduled account housekeeping."""

from celery import shared_task

from .services import tokens


@shared_task(acks_late=True)
def prune_expired_tokens() -> int:
    """Expired tokens no longer authenticate; drop them so session lists stay true."""
    return tokens.tokens_prune_expired()
