"""Twilio through its official SDK: the workspace's numbers and signed status callbacks.

* ``fetch_number(sid)`` / ``find_number(e164)``: a number's SID, name and capabilities
  (``sync_number`` writes them onto a ``PhoneNumber``).  Credentials
  ``settings.TWILIO_ACCOUNT_SID`` and ``TWILIO_AUTH_TOKEN``; the API address
  ``TWILIO_API_BASE`` when set (tests' local server, a proxy) passes the outbound guard
  (internal hosts only when listed in ``CRM_VOICE_ALLOWED_HOSTS``).  Timeouts on every
  request (``CRM_VOICE_API_TIMEOUT``); reads are retried by the SDK's HTTP adapter at
  most twice on connection failures.
* ``valid_signature(url, params, signature)``: Twilio's ``RequestValidator`` over the
  public URL Twilio called and the form fields, with the auth token.
* SDK errors become ``ProviderError`` (messages carry no token).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator, get_signature_algorithm
from twilio.rest import Client

from core.outbound import OutboundError, OutboundRefused, check_url

from ..models import Call
from .base import ProviderError, redact

S = Call.Status
LABEL = "Twilio"
ALLOWED_HOSTS_SETTING = "CRM_VOICE_ALLOWED_HOSTS"

#: Twilio's CallStatus values → ours.
STATUSES = {
    "queued": S.QUEUED, "initiated": S.QUEUED,
    "ringing": S.RINGING,
    "in-progress": S.IN_PROGRESS, "answered": S.IN_PROGRESS,
    "completed": S.COMPLETED,
    "busy": S.BUSY,
    "no-answer": S.NO_ANSWER,
    "canceled": S.FAILED, "failed": S.FAILED,
}


def call_status(raw: str) -> str | None:
    return STATUSES.get((raw or "").strip().lower())


@dataclass(frozen=True)
class NumberInfo:
    sid: str
    phone_number: str
    friendly_name: str
    capabilities: list[str]


def _token() -> str:
    return getattr(settings, "TWILIO_AUTH_TOKEN", "") or ""


def client() -> Client:
    """An SDK client from the settings (ProviderError when it cannot be built)."""
    account = getattr(settings, "TWILIO_ACCOUNT_SID", "") or ""
    token = _token()
    if not account or not token:
        raise ProviderError(f"{LABEL}: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set.",
                            code="not_configured", sent=False)
    timeout = float(getattr(settings, "CRM_VOICE_API_TIMEOUT", 15.0))
    sdk = Client(account, token, http_client=TwilioHttpClient(timeout=timeout, max_retries=2))
    base = (getattr(settings, "TWILIO_API_BASE", "") or "").strip().rstrip("/")
    if base:
        try:
            check_url(base, allowed_hosts=getattr(settings, ALLOWED_HOSTS_SETTING, ()) or (),
                      setting=ALLOWED_HOSTS_SETTING)
        except OutboundRefused as exc:
            raise ProviderError(f"{LABEL}: {exc.message}", code="refused", sent=False) from None
        except OutboundError as exc:
            raise ProviderError(f"{LABEL}: {exc.message}", code="unavailable",
                                retryable=exc.retryable, sent=False) from None
        sdk.api.base_url = base
    return sdk


def _error(exc: Exception) -> ProviderError:
    token = _token()
    if isinstance(exc, TwilioRestException):
        status = exc.status
        detail = redact(exc.msg or str(exc), token)
        if status in (401, 403):
            return ProviderError(f"{LABEL} refused the credentials ({status}).", code="auth",
                                 status=status)
        if status == 404:
            return ProviderError(f"{LABEL}: not found (404): {detail}", code="not_found",
                                 status=status)
        if status == 429 or status >= 500:
            return ProviderError(f"{LABEL} failed ({status}): {detail}", code="unavailable",
                                 status=status, retryable=True)
        return ProviderError(f"{LABEL} rejected the request ({status}): {detail}",
                             code="bad_request", status=status)
    return ProviderError(f"{LABEL} could not be reached: "
                         f"{redact(type(exc).__name__ + ': ' + str(exc), token)}",
                         code="unavailable", retryable=True)


def _capabilities(record) -> list[str]:
    caps = getattr(record, "capabilities", None) or {}
    return sorted(name for name, on in dict(caps).items() if on)


def _info(record) -> NumberInfo:
    return NumberInfo(sid=record.sid or "", phone_number=record.phone_number or "",
                      friendly_name=(record.friendly_name or "")[:120],
                      capabilities=_capabilities(record))


def _call(fn):
    import requests

    try:
        return fn()
    except (TwilioException, requests.RequestException) as exc:
        raise _error(exc) from None


def fetch_number(sid: str, *, sdk: Client | None = None) -> NumberInfo:
    """The IncomingPhoneNumber ``sid`` (PN…): its number, name and capabilities."""
    sdk = sdk or client()
    return _info(_call(lambda: sdk.incoming_phone_numbers(sid).fetch()))


def find_number(number: str, *, sdk: Client | None = None) -> NumberInfo | None:
    """The account's IncomingPhoneNumber for ``number`` (E.164), or None."""
    sdk = sdk or client()
    found = _call(lambda: sdk.incoming_phone_numbers.list(phone_number=number, limit=1))
    return _info(found[0]) if found else None


def sync_number(phone_number, *, sdk: Client | None = None):
    """Write Twilio's SID, name (when the row has none) and capabilities onto a
    ``PhoneNumber``; ProviderError ``not_found`` when the account does not own it."""
    info = (fetch_number(phone_number.provider_sid, sdk=sdk) if phone_number.provider_sid
            else find_number(phone_number.number, sdk=sdk))
    if info is None:
        raise ProviderError(f"{LABEL}: the account has no number {phone_number.number}.",
                            code="not_found", status=404)
    phone_number.provider_sid = info.sid
    phone_number.capabilities = info.capabilities
    if not phone_number.friendly_name:
        phone_number.friendly_name = info.friendly_name
    phone_number.save(update_fields=["provider_sid", "capabilities", "friendly_name",
                                     "updated_at"])
    return phone_number


def valid_signature(url: str, params, signature: str, settings_header: str = "") -> bool:
    """Does ``signature`` (``X-Twilio-Signature``) sign ``url`` and ``params`` with the
    auth token?  ``settings_header`` (``X-Twilio-Webhooks-Signature-Settings``) names
    the algorithm (HMAC-SHA1 without it).  False without a token or a signature."""
    token = _token()
    if not token or not signature:
        return False
    return RequestValidator(token).validate(url, params, signature,
                                            algorithm=get_signature_algorithm(settings_header))
