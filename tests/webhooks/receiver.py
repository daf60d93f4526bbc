"""A local webhook receiver for the tests: answers a scripted list of statuses (then 200),
records each request, and verifies its signature the way a customer would, with
``standardwebhooks.Webhook(secret).verify``."""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = self.server.record(self.path, {k.lower(): v for k, v in self.headers.items()},
                                    body)
        answer = self.server.answer_body
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[dict] = []
        self.statuses: list[int] = []  # answered in turn; 200 once used up
        self.by_path: dict[str, list[int]] = {}  # the same, for one path
        self.answer_body = b"ok"
        self._lock = threading.Lock()

    def record(self, path: str, headers: dict, body: bytes) -> int:
        with self._lock:
            self.received.append({"path": path, "headers": headers, "body": body})
            script = self.by_path.get(path, self.statuses)
            return script.pop(0) if script else 200

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def ids(self) -> list[str]:
        return [r["headers"]["webhook-id"] for r in self.received]


def verified(request: dict, secret: str):
    """The payload if ``secret`` verifies ``request`` (else raises)."""
    return Webhook(secret).verify(request["body"], request["headers"])


def verifies(request: dict, secret: str) -> bool:
    try:
        verified(request, secret)
    except WebhookVerificationError:
        return False
    return True


@contextlib.contextmanager
def receiver():
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
