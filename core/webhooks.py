"""Inbound webhooks' shared rules: the signature, the bearer secret, the size refusal.

Workflow and agent triggers receive webhooks the same way; the checks live here once.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from core.api.errors import ApiError

SIGNATURE_HEADER = "X-Synapscale-Signature"


def signature(secret: str, body: bytes) -> str:
    """The ``X-Synapscale-Signature`` value of ``body`` under ``secret``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def too_large(limit: int) -> ApiError:
    return ApiError(413, "too_large", f"The body is larger than this webhook accepts "
                                      f"({limit} bytes).")


def authenticate(*, auth: str, secret: str, body: bytes, headers: Mapping,
                 missing: str) -> None:
    """401 unless the delivery carries ``secret``: ``Authorization: Bearer`` (auth
    ``token``) or an HMAC signature of the raw body (auth ``hmac``).  ``headers`` have
    lower-case names; ``missing`` says what to do when no secret is set."""
    if not secret:
        raise ApiError(401, "not_authenticated", missing)
    refused = ApiError(401, "not_authenticated",
                       "The request is not signed with this webhook's secret.")
    if auth == "token":
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
                value.strip().encode(errors="surrogatepass"), secret.encode()):
            raise refused
        return
    given = headers.get(SIGNATURE_HEADER.lower(), "").strip()
    if not hmac.compare_digest(given.encode(errors="surrogatepass"),
                               signature(secret, body).encode()):
        raise refused
