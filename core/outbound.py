"""The one guard for requests to user-supplied URLs (workflow HTTP node, webhooks, providers
with custom base URLs): nothing else in the project calls such a URL directly.

What it does, and why:

* **Refuses internal addresses after DNS resolution.**  The host is resolved with
  ``socket.getaddrinfo`` and every address it resolves to is checked: loopback, private
  (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16, where cloud metadata
  answers, and fe80::/10), multicast, unspecified, reserved, shared CGNAT (100.64/10) and
  anything else that is not a global address; IPv4 hidden in IPv6 (``::ffff:a.b.c.d``,
  6to4, NAT64, IPv4-compatible) is checked as the IPv4 it carries.  Names such as
  ``localhost`` are refused before resolving.  Odd IPv4 spellings (``2130706433``,
  ``0177.0.0.1``, ``127.1``) resolve to what they mean and are refused like it.
* **Pins the checked address.**  The connection goes to the address that was checked, not
  to a second lookup (DNS rebinding cannot swap it): the request URL carries the IP while
  the ``Host`` header (http) and the TLS SNI and certificate check (https, the
  ``sni_hostname`` extension) keep the real name.
* **Allowed hosts** (``allowed_hosts``: ``name``, ``name:port``, ``.suffix`` for a domain
  and its subdomains) skip the address check: how tests reach their local servers and how
  an operator opens an internal service on purpose.
* **Bounded**: timeouts per operation and for the whole exchange, a response body cap
  enforced while streaming (decompressed bytes), no proxies from the environment, and no
  automatic redirects: ``max_redirects`` follows them one hop at a time, checking each.
"""

from __future__ import annotations

import functools
import ipaddress
import json as jsonlib
import re
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["OutboundError", "OutboundRefused", "OutboundResponse", "OutboundTimeout",
           "OutboundTooLarge", "check_url", "request"]

#: Names that mean this machine whatever DNS says (RFC 6761 reserves ``.localhost``).
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_REDIRECTS = {301, 302, 303, 307, 308}
#: DNS labels (IDNA-encoded by httpx): letters, digits, hyphens, underscores.
_HOST_NAME = re.compile(r"^(?=.{1,253}\.?$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*"
                        r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.?$", re.IGNORECASE)
_CHUNK = 64 * 1024


class OutboundError(Exception):
    """The request could not be made or completed; ``retryable`` says whether trying again
    later may help (a refused address will not; a timeout may)."""

    retryable = True

    def __init__(self, message: str, *, retryable: bool | None = None):
        super().__init__(message)
        self.message = message
        if retryable is not None:
            self.retryable = retryable


class OutboundRefused(OutboundError):
    """The guard refused the URL (internal address, bad scheme, ...)."""

    retryable = False


class OutboundTimeout(OutboundError):
    retryable = True


class OutboundTooLarge(OutboundError):
    retryable = False


@dataclass(frozen=True)
class OutboundResponse:
    status_code: int
    reason_phrase: str
    headers: httpx.Headers
    content: bytes
    #: The final URL, with the host name (not the pinned address).
    url: str
    #: The address the connection went to.
    address: str
    encoding: str | None = None

    @property
    def text(self) -> str:
        return self.content.decode(self.encoding or "utf-8", errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)


# --- checking ----------------------------------------------------------------------------


def _hint(setting: str) -> str:
    return f" (set {setting} to allow it)" if setting else ""


def address_problem(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why ``ip`` must not be called ("a private address"), or None for a public one."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and (ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1)):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            problem = address_problem(embedded)
            return f"{problem} (as {embedded})" if problem else None
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "a shared (carrier-grade NAT) address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "not a public address"
    return None


def _allowed_entry(entry: str) -> tuple[str, int | None]:
    """``name``, ``name:port``, ``[v6]:port`` or a bare IPv6 address → (host, port)."""
    entry = entry.strip().lower().rstrip(".")
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    else:
        host, port = entry, ""
    return host.rstrip("."), int(port) if port.isdigit() else None


def is_allowed(host: str, port: int, allowed_hosts) -> bool:
    host = host.lower().rstrip(".")
    for entry in allowed_hosts or ():
        name, entry_port = _allowed_entry(entry)
        if entry_port is not None and entry_port != port:
            continue
        if name == host or (name.startswith(".") and
                            (host == name[1:] or host.endswith(name))):
            return True
    return False


@dataclass(frozen=True)
class _Target:
    url: httpx.URL
    host: str
    port: int
    addresses: tuple[str, ...]


def _parse(url) -> httpx.URL:
    try:
        parsed = httpx.URL(str(url))
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise OutboundRefused(f"Refused: {url!r} is not a valid URL ({exc}).") from exc
    if parsed.scheme not in ("http", "https"):
        raise OutboundRefused(f"Refused: only http and https URLs may be called, not "
                              f"{parsed.scheme or 'a URL without a scheme'}.")
    if not parsed.host:
        raise OutboundRefused(f"Refused: {url!r} names no host.")
    raw = parsed.raw_host.decode("ascii", "replace")
    if not (_HOST_NAME.match(raw) or _is_ip(raw)):
        raise OutboundRefused(f"Refused: {raw} is not a valid host name.")
    return parsed


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError as exc:
        raise OutboundRefused(f"Refused: {host} is not a valid host name.") from exc
    except socket.gaierror as exc:
        # EAI_AGAIN is a DNS server failing (try later); the rest mean no such name.
        retryable = exc.errno == getattr(socket, "EAI_AGAIN", -3)
        raise OutboundError(f"Cannot resolve {host}: {exc.strerror or exc}.",
                            retryable=retryable) from exc
    addresses = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = sockaddr[0].split("%")[0]  # drop an IPv6 zone index
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise OutboundError(f"Cannot resolve {host}: no address.", retryable=False)
    return addresses


def _check(url, allowed_hosts, setting: str) -> _Target:
    parsed = _parse(url)
    host = parsed.host.lower()
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    allowed = is_allowed(host, port, allowed_hosts)
    bare = host.rstrip(".")
    if not allowed and (bare in _LOCAL_NAMES or bare.endswith(".localhost")):
        raise OutboundRefused(f"Refused: {bare} names this machine (a loopback "
                              f"address){_hint(setting)}.")
    addresses = _resolve(parsed.raw_host.decode("ascii"), port)
    if not allowed:
        for address in addresses:
            problem = address_problem(ipaddress.ip_address(address))
            if problem and _same_address(address, host):
                raise OutboundRefused(f"Refused: {address} is {problem}{_hint(setting)}.")
            if problem:
                raise OutboundRefused(f"Refused: {bare} resolves to {address}, "
                                      f"{problem}{_hint(setting)}.")
    return _Target(url=parsed, host=host, port=port, addresses=tuple(addresses))


def _same_address(address: str, host: str) -> bool:
    try:
        return ipaddress.ip_address(host) == ipaddress.ip_address(address)
    except ValueError:
        return False


def check_url(url: str, *, allowed_hosts=(), setting: str = "") -> None:
    """Raise :class:`OutboundRefused` (or :class:`OutboundError` when the name does not
    resolve) unless ``url`` may be called.  ``setting`` names the allow-list setting in
    the message ("set WORKFLOW_HTTP_ALLOWED_HOSTS to allow it")."""
    _check(url, allowed_hosts, setting)


# --- requesting ----------------------------------------------------------------------------


@functools.cache
def _default_tls() -> ssl.SSLContext:
    """One TLS context per process with httpx's trust store (certifi): building one loads
    the CA bundle, tens of milliseconds every request would otherwise pay."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def request(method: str, url: str, *, allowed_hosts=(), timeout: float, max_bytes: int,
            max_redirects: int = 0, setting: str = "", verify=True,
            **httpx_kwargs) -> OutboundResponse:
    """Make one checked request (``headers``, ``params``, ``json``, ``content``, ``data``,
    ``auth`` as httpx takes them) and read at most ``max_bytes`` of its body.

    A redirect is returned as it is unless ``max_redirects`` > 0; then each hop is checked
    like the first (303, and 301/302 after a POST, become a GET without a body;
    credentials are not sent to another host).  ``timeout`` bounds each network operation
    and the whole exchange.
    """
    deadline = time.monotonic() + timeout
    auth = httpx_kwargs.pop("auth", None)
    if verify is True:
        verify = _default_tls()
    with httpx.Client(trust_env=False, follow_redirects=False, verify=verify,
                      timeout=httpx.Timeout(timeout)) as client:
        for hop in range(max_redirects + 1):
            try:
                target = _check(url, allowed_hosts, setting)
            except OutboundRefused as exc:
                if hop == 0:
                    raise
                raise OutboundRefused(f"{exc.message[:-1]}, where a redirect pointed "
                                      f"({hop} hop{'s' if hop > 1 else ''}).") from None
            response = _send(client, method, target, deadline, max_bytes, auth, httpx_kwargs)
            location = response.headers.get("location")
            if response.status_code not in _REDIRECTS or not location or max_redirects == 0:
                return response
            next_url = target.url.join(location)
            if (response.status_code == 303 and method.upper() != "HEAD") or (
                    response.status_code in (301, 302) and method.upper() == "POST"):
                method = "GET"
                httpx_kwargs = {k: v for k, v in httpx_kwargs.items()
                                if k not in ("json", "content", "data", "files")}
            if (next_url.scheme, next_url.host, next_url.port) != \
                    (target.url.scheme, target.url.host, target.url.port):
                auth = None
                httpx_kwargs["headers"] = {
                    k: v for k, v in dict(httpx_kwargs.get("headers") or {}).items()
                    if k.lower() not in ("authorization", "cookie", "proxy-authorization")}
            httpx_kwargs.pop("params", None)  # the Location carries its own query
            url = str(next_url)
        raise OutboundError(f"Too many redirects (more than {max_redirects}); the last "
                            f"pointed to {_shown(httpx.URL(url))}.", retryable=False)


def _send(client: httpx.Client, method: str, target: _Target, deadline: float,
          max_bytes: int, auth, kwargs: dict) -> OutboundResponse:
    try:
        built = client.build_request(method, target.url, **kwargs)
    except (TypeError, ValueError) as exc:
        raise OutboundError(f"Cannot build the request: {exc}", retryable=False) from exc
    # Built from the real URL, so the Host header names the host; now aim the connection
    # at the checked address, keeping the name for TLS (SNI and certificate check).
    if target.url.scheme == "https":
        built.extensions = {**built.extensions, "sni_hostname": target.url.raw_host.decode()}
    last_error: Exception | None = None
    named = built.url
    for address in target.addresses[:4]:
        built.url = named.copy_with(host=address)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        built.extensions = {**built.extensions, "timeout": httpx.Timeout(remaining).as_dict()}
        try:
            return _read(client.send(built, auth=auth, stream=True), target, address,
                         deadline, max_bytes)
        except httpx.ConnectTimeout as exc:
            last_error = exc
        except httpx.ConnectError as exc:  # this address refuses: try the next one
            last_error = exc
        except httpx.TimeoutException as exc:
            raise _timeout(target) from exc
        except httpx.HTTPError as exc:
            raise OutboundError(f"{method} {_shown(target.url)} failed: "
                                f"{exc or type(exc).__name__}.") from exc
    if last_error is None or isinstance(last_error, httpx.ConnectTimeout):
        raise _timeout(target) from last_error
    raise OutboundError(f"Cannot connect to {target.host} port {target.port}: "
                        f"{last_error}.") from last_error


def _read(response: httpx.Response, target: _Target, address: str, deadline: float,
          max_bytes: int) -> OutboundResponse:
    try:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise _too_large(target, max_bytes)
        body = bytearray()
        for chunk in response.iter_bytes(_CHUNK):
            body += chunk
            if len(body) > max_bytes:
                raise _too_large(target, max_bytes)
            if time.monotonic() > deadline:  # a server dripping bytes under the read timeout
                raise _timeout(target)
        return OutboundResponse(
            status_code=response.status_code, reason_phrase=response.reason_phrase,
            headers=response.headers, content=bytes(body), url=str(target.url),
            address=address, encoding=response.charset_encoding)
    finally:
        response.close()


def _shown(url: httpx.URL) -> str:
    """The URL without its query or credentials (they may hold secrets)."""
    return str(url.copy_with(query=None, fragment=None, username=None, password=None))


def _timeout(target: _Target) -> OutboundTimeout:
    return OutboundTimeout(f"{_shown(target.url)} did not answer in time.")


def _too_large(target: _Target, max_bytes: int) -> OutboundTooLarge:
    return OutboundTooLarge(f"The response of {_shown(target.url)} is larger than "
                            f"{max_bytes} bytes (the limit).")
