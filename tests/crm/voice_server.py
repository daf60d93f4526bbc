"""A local HTTP server speaking the voice providers' APIs, for tests (never the network).

    with voice_server() as server:
        settings.CRM_VOICE_API_BASE = server.url()

Bolna: ``POST /call`` answers ``{"status": "queued", "execution_id": ...}`` and records
the execution; ``GET /executions/<id>`` answers it (``server.executions[id]`` can be
changed by the test).  Twilio: ``GET /2010-04-01/Accounts/<AC>/IncomingPhoneNumbers/
<PN>.json`` and the list ``IncomingPhoneNumbers.json?PhoneNumber=``, from
``server.numbers``.  ``server.fail(status, times=1, headers=None)`` makes the next
requests answer ``status``; ``server.drop(times)`` closes the connection without an
answer.  Every request is kept in ``server.requests``; only requests carrying
``Authorization: Bearer <server.api_key>`` (Bolna) or basic auth are answered.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

API_KEY = "bn-test-0123456789abcdef"
ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "f" * 32


def execution(execution_id: str, status: str, *, duration=None, cost=None,
              recording_url=None, transcript=None, call_sid="", updated_at="", **extra):
    """A Bolna execution payload (the Get Execution answer and the webhook body)."""
    return {"id": execution_id, "agent_id": "agent-uuid", "status": status,
            "conversation_duration": duration, "total_cost": cost,
            "transcript": transcript, "error_message": None,
            "created_at": "2026-11-29T10:00:00+00:00",
            "updated_at": updated_at or "2026-11-29T10:00:00+00:00",
            "telephony_data": {"duration": duration, "recording_url": recording_url,
                               "provider_call_id": call_sid, "provider": "twilio",
                               "hangup_reason": None},
            **extra}


class _Handler(BaseHTTPRequestHandler):
    server: _VoiceServer

    def log_message(self, *args):
        pass

    def _json(self, status: int, data, headers=None):
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _handle(self):
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        record = {"method": self.command, "path": parts.path,
                  "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
                  "headers": {k.lower(): v for k, v in self.headers.items()},
                  "body": raw.decode("utf-8", "replace")}
        server = self.server
        with server.lock:
            server.requests.append(record)
            failure = server.failures.pop(0) if server.failures else None
        if failure == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if failure is not None:
            status, headers, message = failure
            self._json(status, {"message": message or f"failure {status}"}, headers)
            return
        if parts.path.startswith("/2010-04-01/"):
            self._twilio(parts, record)
        else:
            self._bolna(parts, record)

    def _bolna(self, parts, record):
        if record["headers"].get("authorization") != f"Bearer {self.server.api_key}":
            self._json(401, {"message": "Access denied"})
            return
        if self.command == "POST" and parts.path == "/call":
            body = json.loads(record["body"] or "{}")
            if not body.get("agent_id") or not body.get("recipient_phone_number"):
                self._json(400, {"message": "agent_id and recipient_phone_number required"})
                return
            execution_id = str(uuid.uuid4())
            self.server.executions[execution_id] = execution(execution_id, "queued")
            self.server.placed.append(body)
            self._json(200, {"message": "done", "status": "queued",
                             "execution_id": execution_id})
            return
        if self.command == "GET" and parts.path.startswith("/executions/"):
            found = self.server.executions.get(parts.path.rsplit("/", 1)[-1])
            if found is None:
                self._json(404, {"message": "Execution not found"})
            else:
                self._json(200, found)
            return
        self._json(404, {"message": "not found"})

    def _twilio(self, parts, record):
        auth = record["headers"].get("authorization", "")
        expected = "Basic " + base64.b64encode(
            f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if auth != expected:
            self._json(401, {"code": 20003, "message": "Authenticate", "status": 401})
            return
        tail = parts.path.split("/IncomingPhoneNumbers", 1)[-1]
        if tail.startswith("/") and tail.endswith(".json"):
            found = self.server.numbers.get(tail[1:-5])
            if found is None:
                self._json(404, {"code": 20404, "message": "The requested resource was not "
                                                           "found", "status": 404})
            else:
                self._json(200, found)
            return
        wanted = record["query"].get("PhoneNumber")
        rows = [n for n in self.server.numbers.values()
                if wanted is None or n["phone_number"] == wanted]
        self._json(200, {"incoming_phone_numbers": rows, "page": 0, "page_size": 50,
                         "next_page_uri": None, "uri": parts.path})

    do_GET = do_POST = _handle


class _VoiceServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.failures: list = []
        self.executions: dict[str, dict] = {}
        self.placed: list[dict] = []
        self.numbers: dict[str, dict] = {}
        self.api_key = API_KEY

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def fail(self, status: int, times: int = 1, headers: dict | None = None,
             message: str = "") -> None:
        with self.lock:
            self.failures += [(status, headers or {}, message)] * times

    def drop(self, times: int = 1) -> None:
        with self.lock:
            self.failures += ["drop"] * times

    def add_number(self, sid: str, number: str, *, voice=True, sms=False, name="Sales"):
        self.numbers[sid] = {"sid": sid, "account_sid": ACCOUNT_SID, "phone_number": number,
                             "friendly_name": name,
                             "capabilities": {"voice": voice, "sms": sms, "mms": False,
                                              "fax": False}}


@contextlib.contextmanager
def voice_server():
    server = _VoiceServer()
    thread = threading.Thread(target=server.serve_forever, name="voice-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- fixtures for the voice tests (import the *_fixture names) --

import hashlib  # noqa: E402
import hmac  # noqa: E402

import pytest  # noqa: E402

WEBHOOK_SECRET = "voice-webhook-secret-0123456789"
PUBLIC_BASE = "https://crm.example.com"


class _VoiceUrls:
    """The project's URLs plus the voice endpoints (until crm/api/urls.py lists them)."""

    @property
    def urlpatterns(self):
        from django.urls import include, path

        from config import urls
        from crm.api import calls, webhooks

        return [path("api/v1/", include([*webhooks.urlpatterns, *calls.urlpatterns])),
                *urls.urlpatterns]


_URLS = _VoiceUrls()


@pytest.fixture(name="voice_urls")
def voice_urls_fixture(settings):
    from django.urls import NoReverseMatch, reverse

    try:
        reverse("crm-webhook-voice")
        reverse("crm-call-place")
    except NoReverseMatch:
        settings.ROOT_URLCONF = _URLS


@pytest.fixture(name="crm_events")
def crm_events_fixture():
    from crm import events

    events.register()  # CrmConfig.ready() does it once wired; registering again is a no-op


@pytest.fixture(name="server")
def server_fixture(settings, crm_events):
    with voice_server() as running:
        settings.CRM_VOICE_API_BASE = running.url()
        settings.CRM_VOICE_API_KEY = API_KEY
        settings.CRM_VOICE_ALLOWED_HOSTS = ["127.0.0.1"]
        settings.CRM_VOICE_API_TIMEOUT = 5.0
        settings.CRM_VOICE_API_RETRIES = 2
        settings.CRM_VOICE_RETRY_MAX_WAIT = 0.01
        settings.CRM_VOICE_WEBHOOK_SECRET = WEBHOOK_SECRET
        settings.CRM_PUBLIC_BASE_URL = PUBLIC_BASE
        settings.CRM_CREDITS_PER_CALL = 10
        settings.CRM_CREDITS_PER_MINUTE = 10
        settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
        settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
        settings.TWILIO_API_BASE = running.url()
        yield running


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def twilio_signature(url: str, params: dict, token: str = AUTH_TOKEN) -> str:
    from twilio.request_validator import RequestValidator

    return RequestValidator(token).compute_signature(url, params)
