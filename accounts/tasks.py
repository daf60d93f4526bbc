"""Scheduled account housekeeping."""

from celery import shared_task

from .services import signin, tokens


@shared_task(acks_late=True)
def prune_expired_tokens() -> int:
    """Expired tokens no longer authenticate; drop them so session lists stay true."""
    return tokens.tokens_prune_expired()


@shared_task(acks_late=True)
def prune_login_attempts() -> int:
    """Sign-in records older than LOGIN_ATTEMPT_RETENTION_DAYS are deleted."""
    return signin.login_attempts_prune()
