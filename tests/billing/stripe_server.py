"""A local stand-in for the Stripe API (tests never reach the network), and webhook
payloads signed the way Stripe signs them.

    with stripe_server() as server:
        provider = PaymentProviderFactory(kind="stripe", api_base=server.url())

Speaks the form-encoded ``/v1/`` requests the SDK sends: customers (create, update),
payment methods (attach, detach), payment intents (create with confirm).  What a charge
does depends on its payment method token:

* ``pm_card_visa`` (and any other): succeeds;
* ``pm_card_chargeDeclined``: 402 ``card_error`` (``card_declined``), the intent in the body;
* ``pm_card_authenticationRequired``: ``requires_action``;
* ``pm_card_processing``: ``processing``;
* ``pm_missing``: 400 ``resource_missing`` (attach and charge).

``server.fail_next = [500, ...]`` answers the next requests with those statuses;
``server.delay = seconds`` delays every answer.  Requests with the same
``Idempotency-Key`` are answered from the first answer (as Stripe does); ``server.charges``
counts the intents really created, ``server.requests`` records every request.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

SECRET_KEY = "sk_test_local_h4"
WEBHOOK_SECRET = "whsec_test_local_h4"
_ids = itertools.count(1)


def _nest(pairs) -> dict:
    """``metadata[invoice_id]=5`` → ``{"metadata": {"invoice_id": "5"}}``."""
    out: dict = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


class _Handler(BaseHTTPRequestHandler):
    server: StripeServer

    def log_message(self, *args):
        pass

    def _send(self, status: int, body: dict):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", f"req_{next(_ids)}")
        self.end_headers()
        self.wfile.write(data)

    def _handle(self):
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        params = _nest(parse_qsl(raw, keep_blank_values=True))
        record = {"method": self.command, "path": parts.path, "params": params, "raw": raw,
                  "headers": {k.lower(): v for k, v in self.headers.items()}}
        server = self.server
        with server.lock:
            server.requests.append(record)
            key = record["headers"].get("idempotency-key")
            if key and key in server.replies:
                status, body = server.replies[key]
                return self._send(status, body)
            forced = server.fail_next.pop(0) if server.fail_next else None
        if server.delay:
            server.stopping.wait(server.delay)
        if record["headers"].get("authorization") != f"Bearer {server.secret_key}":
            return self._send(401, {"error": {"type": "invalid_request_error",
                                              "message": "Invalid API Key provided."}})
        if forced:
            return self._send(forced, {"error": {"type": "api_error",
                                                 "message": "Something went wrong."}})
        status, body = self._route(parts.path.rstrip("/").split("/")[1:], params)
        with server.lock:
            if key:
                server.replies[key] = (status, body)
        return self._send(status, body)

    def _route(self, segments, params):
        server = self.server
        if segments[:2] == ["v1", "customers"] and len(segments) == 2:
            cid = f"cus_{next(_ids):06d}"
            server.customers[cid] = {"id": cid, "object": "customer", **params}
            return 200, server.customers[cid]
        if segments[:2] == ["v1", "customers"] and len(segments) == 3:
            customer = server.customers.get(segments[2])
            if customer is None:
                return 404, _missing("customer", segments[2])
            customer.update(params)
            return 200, customer
        if segments[:2] == ["v1", "payment_methods"] and len(segments) == 4:
            pm = segments[2]
            if pm == "pm_missing":
                return 400, _missing("payment_method", pm)
            body = {"id": pm, "object": "payment_method", "type": "card",
                    "customer": params.get("customer") if segments[3] == "attach" else None,
                    "card": {"brand": "visa", "last4": "4242", "exp_month": 12,
                             "exp_year": 2034}}
            return 200, body
        if segments[:2] == ["v1", "payment_intents"] and len(segments) == 2:
            return self._intent(params)
        return 404, {"error": {"type": "invalid_request_error",
                               "message": f"Unrecognized request URL ({self.path})."}}

    def _intent(self, params):
        server = self.server
        pm = params.get("payment_method", "")
        if pm == "pm_missing":
            return 400, _missing("payment_method", pm)
        with server.lock:
            server.charges += 1
        intent = {"id": f"pi_{next(_ids):06d}", "object": "payment_intent",
                  "amount": int(params.get("amount", 0)), "currency": params.get("currency"),
                  "customer": params.get("customer"), "payment_method": pm,
                  "metadata": params.get("metadata", {}), "amount_received": 0,
                  "created": int(time.time()), "last_payment_error": None}
        if pm == "pm_card_chargeDeclined":
            error = {"type": "card_error", "code": "card_declined",
                     "decline_code": "generic_decline", "message": "Your card was declined.",
                     "payment_intent": {**intent, "status": "requires_payment_method"}}
            error["payment_intent"]["last_payment_error"] = {
                k: error[k] for k in ("code", "decline_code", "message", "type")}
            return 402, {"error": error}
        if pm == "pm_card_authenticationRequired":
            return 200, {**intent, "status": "requires_action"}
        if pm == "pm_card_processing":
            return 200, {**intent, "status": "processing"}
        return 200, {**intent, "status": "succeeded", "amount_received": intent["amount"]}

    do_GET = do_POST = do_DELETE = _handle


def _missing(kind: str, ident: str) -> dict:
    return {"error": {"type": "invalid_request_error", "code": "resource_missing",
                      "message": f"No such {kind}: '{ident}'", "param": kind}}


class StripeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.requests: list[dict] = []
        self.replies: dict[str, tuple[int, dict]] = {}
        self.customers: dict[str, dict] = {}
        self.fail_next: list[int] = []
        self.delay = 0.0
        self.charges = 0
        self.secret_key = SECRET_KEY

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def calls(self, path_prefix: str) -> list[dict]:
        return [r for r in self.requests if r["path"].startswith(path_prefix)]


@contextlib.contextmanager
def stripe_server():
    server = StripeServer()
    thread = threading.Thread(target=server.serve_forever, name="stripe-stand-in",
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- webhooks, signed as Stripe signs them -----------------------------------------------------


def sign(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header: ``t=<unix time>,v1=<HMAC-SHA256 of "t.payload">``."""
    stamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256)
    return f"t={stamp},v1={mac.hexdigest()}"


def intent_event(kind: str, *, invoice, event_id: str, created: int, intent_id: str = "",
                 amount: int | None = None, message: str = "Your card was declined.") -> str:
    """A ``payment_intent.succeeded`` / ``payment_intent.payment_failed`` event body."""
    succeeded = kind == "succeeded"
    due = invoice.amount_due if amount is None else amount
    intent = {"id": intent_id or f"pi_evt_{event_id}", "object": "payment_intent",
              "amount": due, "amount_received": due if succeeded else 0,
              "currency": invoice.currency.lower(),
              "status": "succeeded" if succeeded else "requires_payment_method",
              "metadata": {"invoice_id": str(invoice.pk),
                           "workspace_id": str(invoice.workspace_id)},
              "last_payment_error": None if succeeded else {
                  "type": "card_error", "code": "card_declined",
                  "decline_code": "insufficient_funds", "message": message}}
    return json.dumps({"id": event_id, "object": "event", "api_version": "2024-06-20",
                       "created": created, "livemode": False, "pending_webhooks": 1,
                       "type": f"payment_intent.{'succeeded' if succeeded else 'payment_failed'}",
                       "data": {"object": intent}})
