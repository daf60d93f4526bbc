"""A local HTTP server in a thread, for tests of outbound calls (tests never reach the network).

    with local_server() as server:
        server.url("/echo")             # http://127.0.0.1:<port>/echo

Paths: ``/echo`` answers JSON with the method, path, query, headers and body it received
(and records it in ``server.requests``); ``/status/<code>`` answers that status;
``/bytes/<n>`` answers n bytes (``?declare=0`` without a Content-Length);
``/slow/<seconds>`` waits before answering; ``/redirect?to=<url>`` answers 302;
``/text`` answers plain text.  ``local_tls_server(name)`` serves HTTPS with a certificate
for ``name``.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args):  # keep test output quiet
        pass

    def _answer(self, status: int, body: bytes, content_type="application/json",
                headers=None, declare=True):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if declare:
            self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if not declare:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        record = {"method": self.command, "path": parts.path,
                  "query": {k: v[0] for k, v in query.items()},
                  "headers": {k.lower(): v for k, v in self.headers.items()},
                  "body": body.decode("utf-8", "replace")}
        self.server.requests.append(record)
        segments = [s for s in parts.path.split("/") if s]
        head = segments[0] if segments else ""
        if head == "echo":
            status = int(query.get("status", ["200"])[0])
            self._answer(status, json.dumps(record).encode())
        elif head == "status":
            code = int(segments[1])
            self._answer(code, json.dumps({"status": code}).encode())
        elif head == "bytes":
            size = int(segments[1])
            self._answer(200, b"x" * size, "application/octet-stream",
                         declare=query.get("declare", ["1"])[0] != "0")
        elif head == "slow":
            self.server.stopping.wait(float(segments[1]))
            self._answer(200, b'{"slow": true}')
        elif head == "redirect":
            self._answer(302, b"", headers={"Location": query["to"][0]})
        elif head == "text":
            self._answer(200, "olá, mundo".encode(), "text/plain; charset=utf-8")
        else:
            self._answer(404, b'{"detail": "not found"}')

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tls_context: ssl.SSLContext | None = None):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict] = []
        self.stopping = threading.Event()
        self.scheme = "http"
        #: The TLS server names (SNI) clients asked for.
        self.server_names: list[str | None] = []
        if tls_context is not None:
            tls_context.sni_callback = lambda sock, name, ctx: self.server_names.append(name)
            self.socket = tls_context.wrap_socket(self.socket, server_side=True)
            self.scheme = "https"

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return f"{self.scheme}://{self.host}{path}"


def self_signed(name: str, folder: Path) -> tuple[Path, Path]:
    """A certificate for ``name`` signed by itself, and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@contextlib.contextmanager
def local_tls_server(name: str):
    """A local HTTPS server presenting a certificate for ``name``; ``server.client_context``
    is an SSL context that trusts it (pass it as ``verify``)."""
    with tempfile.TemporaryDirectory() as folder:
        cert, key = self_signed(name, Path(folder))
        server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_context.load_cert_chain(cert, key)
        client_context = ssl.create_default_context(cafile=str(cert))
        with local_server(tls_context=server_context) as server:
            server.client_context = client_context
            yield server


@contextlib.contextmanager
def local_server(tls_context: ssl.SSLContext | None = None):
    server = _Server(tls_context)
    thread = threading.Thread(target=server.serve_forever, name="local-http", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
