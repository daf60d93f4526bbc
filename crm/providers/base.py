"""What the voice adapters share: one error with a message safe to show and store
(keys redacted), and the provider's wire statuses mapped to ``Call.Status``."""

from __future__ import annotations

import re

#: Key-like strings a server may echo back (Bolna "bn-…", Twilio auth tokens are 32 hex).
_KEY_LIKE = re.compile(r"\b(bn|sk|pk|rk)-[A-Za-z0-9_\-*.]{4,}|\b[0-9a-f]{32}\b")
_MAX_MESSAGE = 400


def redact(text: str, *secrets: str) -> str:
    """``text`` without the given secrets or anything that looks like a key, bounded."""
    text = str(text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return _KEY_LIKE.sub("[redacted]", text)[:_MAX_MESSAGE]


class ProviderError(Exception):
    """A provider request that failed (after its retries).  ``code``: not_configured,
    refused (the outbound guard), auth, rate_limited, timeout, unavailable, server_error,
    bad_request, not_found, bad_response.  ``retryable``: trying again later may help.
    ``sent`` is False only when the request certainly never reached the provider (a
    refused or unreachable address): then nothing can have happened there."""

    def __init__(self, message: str, *, code: str, status: int | None = None,
                 retryable: bool = False, retry_after: float | None = None,
                 sent: bool = True):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        self.sent = sent

    def __str__(self) -> str:
        return self.message
