"""Bolna.ai, the voice platform: place a call, fetch an execution (one call's record).

* Base URL ``settings.CRM_VOICE_API_BASE`` (default https://api.bolna.ai) and key
  ``settings.CRM_VOICE_API_KEY`` (``Authorization: Bearer``).  The base URL is
  configurable, so every request goes through the outbound guard (``core.outbound``):
  internal hosts only when listed in ``CRM_VOICE_ALLOWED_HOSTS`` (the tests' local server).
* Timeouts on every request (``CRM_VOICE_API_TIMEOUT`` seconds, default 15).
* Bounded retries (``CRM_VOICE_API_RETRIES``, default 2) with exponential backoff and
  jitter on 429, 5xx, timeouts and connection failures, honouring ``Retry-After`` up to
  ``CRM_VOICE_RETRY_MAX_WAIT`` seconds (default 10; a longer wait ends the attempts).
* Placing a call is not idempotent (Bolna takes no idempotency key): a second POST after
  one that may have reached Bolna could ring the contact twice.  So ``place_call`` is
  retried only when the first request provably was not acted on: it never connected
  (refused, unresolvable, connect timeout) or Bolna answered 429 (rate limited requests
  are not processed).  A read timeout or a 5xx after sending is not retried; it fails
  with ``sent=True`` so the caller knows the call may exist at Bolna (its webhook events
  would then find no call and are kept as ``ignored``).
* Every failure is a ``ProviderError`` whose message never carries the key.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import httpx
from django.conf import settings

from agents.providers.retry import parse_retry_after
from core import outbound

from ..models import Call
from .base import ProviderError, redact

S = Call.Status
DEFAULT_BASE = "https://api.bolna.ai"
ALLOWED_HOSTS_SETTING = "CRM_VOICE_ALLOWED_HOSTS"
MAX_BYTES = 5 * 1024 * 1024  # an execution with a long transcript stays far below
BASE_DELAY = 0.5
LABEL = "The voice platform (Bolna)"

#: Bolna's execution statuses → ours.  ``call-disconnected`` is not final: Bolna sends
#: ``completed`` with the duration, cost and recording a few seconds later.
STATUSES = {
    "queued": S.QUEUED, "scheduled": S.QUEUED, "rescheduled": S.QUEUED,
    "initiated": S.QUEUED, "initiate": S.QUEUED,
    "ringing": S.RINGING,
    "in-progress": S.IN_PROGRESS, "in_progress": S.IN_PROGRESS,
    "call-disconnected": S.IN_PROGRESS,
    "completed": S.COMPLETED,
    "busy": S.BUSY,
    "no-answer": S.NO_ANSWER, "no_answer": S.NO_ANSWER,
    "balance-low": S.FAILED, "canceled": S.FAILED, "cancelled": S.FAILED,
    "failed": S.FAILED, "stopped": S.FAILED, "error": S.FAILED,
}


def call_status(raw: str, duration_seconds: int | None = None) -> str | None:
    """Our status for Bolna's ``raw`` one (None: unknown).  Bolna reports a call the
    callee rejected as ``completed`` with a conversation of 0 s: that is a call that
    did not connect (``no_answer``), as its docs advise reading it."""
    status = STATUSES.get((raw or "").strip().lower())
    if status == S.COMPLETED and duration_seconds == 0:
        return S.NO_ANSWER
    return status


@dataclass
class Execution:
    """One Bolna execution (the Get Execution answer and the webhook payload alike)."""

    id: str
    raw_status: str
    status: str | None  # ours, see call_status
    duration_seconds: int | None
    cost: Decimal | None
    recording_url: str
    transcript: str
    summary: str
    extracted: dict
    provider_call_sid: str
    hangup_reason: str
    error_message: str
    updated_at: str
    raw: dict = field(repr=False, default_factory=dict)


def _seconds(value) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number < 0:
        return None
    return int(number.to_integral_value(ROUND_HALF_UP))


def _cost(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number < 0 or number >= Decimal("1e8"):
        return None
    return number.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def _text(value, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def parse_execution(data) -> Execution:
    """An ``Execution`` from Bolna's JSON (ValueError when it is not one)."""
    if not isinstance(data, dict):
        raise ValueError("an execution is a JSON object")
    execution_id = data.get("id") or data.get("execution_id")
    if not isinstance(execution_id, str) or not execution_id.strip():
        raise ValueError("the execution has no id")
    telephony = data.get("telephony_data")
    telephony = telephony if isinstance(telephony, dict) else {}
    duration = _seconds(data.get("conversation_duration"))
    if duration is None:
        duration = _seconds(telephony.get("duration"))
    raw_status = _text(data.get("status"), 40)
    extracted = data.get("extracted_data")
    recording = _text(telephony.get("recording_url"), 500)
    return Execution(
        id=execution_id.strip()[:100], raw_status=raw_status,
        status=call_status(raw_status, duration), duration_seconds=duration,
        cost=_cost(data.get("total_cost")),
        recording_url=recording if recording.startswith(("https://", "http://")) else "",
        transcript=_text(data.get("transcript"), 200_000),
        summary=_text(data.get("summary"), 20_000),
        extracted=extracted if isinstance(extracted, dict) else {},
        provider_call_sid=_text(telephony.get("provider_call_id"), 64),
        hangup_reason=_text(telephony.get("hangup_reason"), 120),
        error_message=_text(data.get("error_message"), 300),
        updated_at=_text(data.get("updated_at"), 40) or _text(data.get("created_at"), 40),
        raw=data)


def transcript_turns(text: str) -> list[dict]:
    """Bolna's transcript ("assistant: …\\nuser: …") as turns; lines without a speaker
    continue the previous turn."""
    speakers = {"assistant": "agent", "agent": "agent", "bot": "agent",
                "user": "contact", "human": "contact", "customer": "contact"}
    turns: list[dict] = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        head, sep, rest = line.partition(":")
        speaker = speakers.get(head.strip().lower()) if sep else None
        if speaker:
            turns.append({"speaker": speaker, "text": rest.strip()})
        elif turns:
            turns[-1]["text"] = f"{turns[-1]['text']}\n{line.strip()}".strip()
        else:
            turns.append({"speaker": "unknown", "text": line.strip()})
    return turns


def backoff(attempt: int) -> float:
    return BASE_DELAY * (2 ** attempt) + random.uniform(0, BASE_DELAY / 2)


def _never_connected(exc: outbound.OutboundError) -> bool:
    """True when the request cannot have reached the server."""
    if isinstance(exc, outbound.OutboundRefused):
        return True
    cause = exc.__cause__
    if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout):
        return True
    return exc.message.startswith("Cannot resolve")


class BolnaClient:
    """The Bolna API for one configuration (the settings by default)."""

    def __init__(self, *, base_url: str | None = None, api_key: str | None = None,
                 timeout: float | None = None, max_retries: int | None = None,
                 max_wait: float | None = None, sleep: Callable[[float], None] | None = None):
        self.base_url = (base_url or getattr(settings, "CRM_VOICE_API_BASE", "")
                         or DEFAULT_BASE).rstrip("/")
        self.api_key = api_key if api_key is not None else getattr(
            settings, "CRM_VOICE_API_KEY", "")
        self.timeout = float(timeout or getattr(settings, "CRM_VOICE_API_TIMEOUT", 15.0))
        self.max_retries = int(max_retries if max_retries is not None
                               else getattr(settings, "CRM_VOICE_API_RETRIES", 2))
        self.max_wait = float(max_wait if max_wait is not None
                              else getattr(settings, "CRM_VOICE_RETRY_MAX_WAIT", 10.0))
        self.sleep = sleep or time.sleep

    # --- the interface -------------------------------------------------------------------

    def place_call(self, *, agent_id: str, recipient: str, from_number: str = "",
                   user_data: dict | None = None) -> str:
        """Ask Bolna to call ``recipient`` (E.164) with agent ``agent_id``; returns the
        execution id.  Retried only when the request provably was not acted on."""
        if not agent_id:
            raise ProviderError(f"{LABEL}: the agent has no voice platform agent id.",
                                code="bad_request", sent=False)
        body = {"agent_id": agent_id, "recipient_phone_number": recipient}
        if from_number:
            body["from_phone_number"] = from_number
        if user_data:
            body["user_data"] = user_data
        data = self._request("POST", "/call", json=body, idempotent=False)
        execution_id = data.get("execution_id") if isinstance(data, dict) else None
        if not isinstance(execution_id, str) or not execution_id.strip():
            raise ProviderError(f"{LABEL} accepted the call but sent no execution id.",
                                code="bad_response")
        return execution_id.strip()[:100]

    def fetch_execution(self, execution_id: str) -> Execution:
        """The execution's status, duration, transcript, recording URL and cost."""
        if not execution_id:
            raise ProviderError(f"{LABEL}: no execution id.", code="bad_request", sent=False)
        data = self._request("GET", f"/executions/{execution_id}", idempotent=True)
        try:
            return parse_execution(data)
        except ValueError as exc:
            raise ProviderError(f"{LABEL} sent an execution that cannot be read: {exc}.",
                                code="bad_response") from None

    # --- the wire --------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, json=None, idempotent: bool):
        if not self.api_key:
            raise ProviderError(f"{LABEL}: CRM_VOICE_API_KEY is not set.",
                                code="not_configured", sent=False)
        attempt = 0
        while True:
            try:
                return self._once(method, path, json)
            except ProviderError as error:
                may_retry = error.retryable and (idempotent or not error.sent)
                if error.retry_after is not None and error.retry_after > self.max_wait:
                    raise ProviderError(
                        f"{error.message} It asks to retry after {error.retry_after:.0f} s "
                        f"(more than CRM_VOICE_RETRY_MAX_WAIT={self.max_wait:g} s).",
                        code=error.code, status=error.status, retryable=True,
                        retry_after=error.retry_after, sent=error.sent) from None
                if not may_retry or attempt >= self.max_retries:
                    raise
                wait = error.retry_after if error.retry_after is not None else backoff(attempt)
                self.sleep(min(wait, self.max_wait))
                attempt += 1

    def _once(self, method: str, path: str, json):
        url = f"{self.base_url}{path}"
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
        try:
            response = outbound.request(
                method, url, json=json, headers=headers, timeout=self.timeout,
                max_bytes=MAX_BYTES, setting=ALLOWED_HOSTS_SETTING,
                allowed_hosts=getattr(settings, ALLOWED_HOSTS_SETTING, ()) or ())
        except outbound.OutboundRefused as exc:
            raise ProviderError(f"{LABEL}: {redact(exc.message, self.api_key)}",
                                code="refused", sent=False) from None
        except outbound.OutboundTimeout as exc:
            unsent = _never_connected(exc)
            raise ProviderError(f"{LABEL} did not answer within {self.timeout:g} s.",
                                code="timeout", retryable=True, sent=not unsent) from None
        except outbound.OutboundError as exc:
            unsent = _never_connected(exc)
            raise ProviderError(f"{LABEL} could not be reached: "
                                f"{redact(exc.message, self.api_key)}", code="unavailable",
                                retryable=exc.retryable or unsent, sent=not unsent) from None
        return self._answer(response)

    def _answer(self, response: outbound.OutboundResponse):
        status = response.status_code
        if 200 <= status < 300:
            try:
                return response.json()
            except ValueError:
                raise ProviderError(f"{LABEL} sent an answer that is not JSON ({status}).",
                                    code="bad_response", status=status) from None
        detail = redact(_server_message(response), self.api_key)
        retry_after = parse_retry_after(response.headers)
        if status in (401, 403):
            raise ProviderError(f"{LABEL} refused the API key ({status}): {detail}",
                                code="auth", status=status)
        if status == 404:
            raise ProviderError(f"{LABEL} does not know it (404): {detail}",
                                code="not_found", status=status)
        if status == 429:
            # A rate-limited request was not processed: safe to send again.
            raise ProviderError(f"{LABEL} is rate limiting requests (429): {detail}",
                                code="rate_limited", status=status, retryable=True,
                                retry_after=retry_after, sent=False)
        if status >= 500 or status == 408:
            raise ProviderError(f"{LABEL} failed ({status}): {detail}", code="server_error",
                                status=status, retryable=True, retry_after=retry_after)
        raise ProviderError(f"{LABEL} rejected the request ({status}): {detail}",
                            code="bad_request", status=status)


def _server_message(response: outbound.OutboundResponse) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(data, dict):
        for key in ("message", "detail", "error"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value[:200]
    return str(data)[:200]


def client() -> BolnaClient:
    """A client configured from the settings."""
    return BolnaClient()
