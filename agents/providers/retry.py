"""Retries for provider calls: exponential backoff with jitter on 429, 5xx, timeouts and
connection errors, honouring ``Retry-After``.  The SDKs' own retries are off so that one
policy (and one cap, LLM_RETRY_MAX_WAIT) applies to both providers."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

from django.conf import settings

from .base import ProviderError

BASE_DELAY = 0.5


def parse_retry_after(headers) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``Retry-After`` in seconds or as an
    HTTP date; None when absent or unreadable."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def backoff(attempt: int) -> float:
    return BASE_DELAY * (2 ** attempt) + random.uniform(0, BASE_DELAY / 2)


def with_retries(call: Callable[[], object], *, max_retries: int,
                 sleep: Callable[[float], None] | None = None):
    """Run ``call`` (which raises ProviderError) up to ``max_retries`` more times while the
    error is retryable.  A Retry-After longer than LLM_RETRY_MAX_WAIT ends the attempts at
    once with code "rate_limited" (the caller decides whether to come back later)."""
    sleep = sleep or time.sleep
    cap = float(settings.LLM_RETRY_MAX_WAIT)
    attempt = 0
    while True:
        try:
            return call()
        except ProviderError as error:
            if error.retry_after is not None and error.retry_after > cap:
                raise ProviderError(
                    f"{error.message} The provider asks to retry after "
                    f"{error.retry_after:.0f} s (more than LLM_RETRY_MAX_WAIT={cap:g} s).",
                    code="rate_limited", status=error.status, retryable=True,
                    retry_after=error.retry_after) from error
            if not error.retryable or attempt >= max_retries:
                raise
            wait = error.retry_after if error.retry_after is not None else backoff(attempt)
            sleep(min(wait, cap))
            attempt += 1
