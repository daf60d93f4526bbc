"""The outbound guard: internal addresses are refused after resolution, allowed hosts are
reached at the address that was checked, bodies are capped and slow servers time out."""

import re
import socket

import pytest

from core import outbound
from core.outbound import OutboundError, OutboundRefused, OutboundTimeout, OutboundTooLarge
from tests.local_http import local_server, local_tls_server

SETTING = "WORKFLOW_HTTP_ALLOWED_HOSTS"


@pytest.fixture
def http_server():
    with local_server() as server:
        yield server


@pytest.fixture
def fake_dns(monkeypatch):
    """Resolve chosen names to chosen addresses; other names are not found."""
    table: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in table:
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6,
                     "", (a, port)) for a in table[host]]
        try:  # IP literals in every spelling resolve locally, without the network
            return real(host, port, *args, flags=socket.AI_NUMERICHOST, **kwargs)
        except socket.gaierror:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


@pytest.mark.parametrize(("url", "message"), [
    ("http://127.0.0.1/", "Refused: 127.0.0.1 is a loopback address"),
    ("http://10.0.0.1/admin", "Refused: 10.0.0.1 is a private address"),
    ("http://172.20.1.1/", "Refused: 172.20.1.1 is a private address"),
    ("http://192.168.1.1/", "Refused: 192.168.1.1 is a private address"),
    ("http://169.254.169.254/latest/meta-data/", "Refused: 169.254.169.254 is a link-local "
                                                 "address (where cloud metadata"),
    ("http://100.64.0.1/", "is a shared (carrier-grade NAT) address"),
    ("http://0.0.0.0:8000/", "Refused: 0.0.0.0 is an unspecified address"),
    ("http://224.0.0.1/", "is a multicast address"),
    ("http://[::1]:8000/", "Refused: ::1 is a loopback address"),
    ("http://[fd00::1]/", "is a private address"),
    ("http://[fe80::1]/", "is a link-local address"),
    ("http://[::ffff:127.0.0.1]/", "a loopback address (as 127.0.0.1)"),
    ("http://[::ffff:169.254.169.254]/", "link-local"),
    ("http://[2002:a00:1::]/", "a private address (as 10.0.0.1)"),
    ("http://2130706433/", "Refused: 2130706433 resolves to 127.0.0.1, a loopback address"),
    ("http://0x7f000001/", "resolves to 127.0.0.1, a loopback address"),
    ("http://127.1/", "resolves to 127.0.0.1"),
    ("http://017700000001/", "resolves to 127.0.0.1"),
])
def test_internal_addresses_are_refused_with_a_clear_message(fake_dns, url, message):
    with pytest.raises(OutboundRefused) as refused:
        outbound.check_url(url, setting=SETTING)
    assert message in str(refused.value)
    assert str(refused.value).endswith(f"(set {SETTING} to allow it).")
    assert refused.value.retryable is False


def test_octal_spelling_is_refused_too(fake_dns):
    with pytest.raises(OutboundRefused):
        outbound.check_url("http://0177.0.0.1/")


@pytest.mark.parametrize("url", ["http://localhost/", "http://LOCALHOST.:8000/x",
                                 "http://api.localhost/", "https://ip6-localhost/"])
def test_local_names_are_refused_without_asking_dns(fake_dns, url):
    with pytest.raises(OutboundRefused, match="names this machine"):
        outbound.check_url(url)


def test_a_hostname_resolving_to_a_private_address_is_refused(fake_dns):
    fake_dns["crm.example.com"] = ["10.1.2.3"]
    with pytest.raises(OutboundRefused) as refused:
        outbound.check_url("https://crm.example.com/api", setting=SETTING)
    assert str(refused.value) == ("Refused: crm.example.com resolves to 10.1.2.3, a private "
                                  f"address (set {SETTING} to allow it).")


def test_one_internal_address_among_public_ones_is_enough_to_refuse(fake_dns):
    fake_dns["mixed.example.com"] = ["93.184.216.34", "169.254.169.254"]
    with pytest.raises(OutboundRefused, match=re.escape("169.254.169.254")):
        outbound.check_url("http://mixed.example.com/")


def test_public_hosts_pass_and_unknown_names_say_so(fake_dns):
    fake_dns["api.example.com"] = ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]
    outbound.check_url("https://api.example.com/v1")
    with pytest.raises(OutboundError, match=re.escape("Cannot resolve nowhere.invalid")) as error:
        outbound.check_url("https://nowhere.invalid/")
    assert not isinstance(error.value, OutboundRefused)


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd",
                                 "gopher://127.0.0.1:6379/", "not a url", "http:///path",
                                 "http://exa mple.com/", "http://a..b/", "http://-x.com/"])
def test_only_http_urls_with_a_host_are_called(fake_dns, url):
    with pytest.raises(OutboundRefused):
        outbound.check_url(url)


@pytest.mark.parametrize(("entry", "url"), [
    ("crm.internal", "http://crm.internal/"),
    ("crm.internal:8080", "http://crm.internal:8080/"),
    (".internal", "http://crm.internal/"),
    ("[fd00::1]:443", "https://[fd00::1]/"),
    ("10.0.0.1", "http://10.0.0.1/"),
])
def test_allowed_hosts_open_internal_addresses(fake_dns, entry, url):
    fake_dns["crm.internal"] = ["10.0.0.9"]
    outbound.check_url(url, allowed_hosts=[entry])


def test_an_allowed_port_does_not_open_the_others(fake_dns):
    fake_dns["crm.internal"] = fake_dns["evilcrm.internal"] = ["10.0.0.9"]
    with pytest.raises(OutboundRefused):
        outbound.check_url("http://crm.internal:9000/", allowed_hosts=["crm.internal:8080"])
    with pytest.raises(OutboundRefused):
        outbound.check_url("http://evilcrm.internal/", allowed_hosts=["crm.internal"])


# --- requests against a local server ---------------------------------------------------


def test_a_local_server_is_refused_unless_allowed(http_server):
    with pytest.raises(OutboundRefused, match=re.escape("127.0.0.1 is a loopback address")):
        outbound.request("GET", http_server.url("/echo"), timeout=5, max_bytes=10_000)
    assert http_server.requests == []  # refused before connecting

    response = outbound.request("POST", http_server.url("/echo"), json={"a": 1},
                                headers={"X-Test": "yes"}, params={"q": "1"},
                                allowed_hosts=[http_server.host], timeout=5,
                                max_bytes=10_000)
    assert response.status_code == 200
    seen = response.json()
    assert seen["method"] == "POST" and seen["query"] == {"q": "1"}
    assert seen["body"] == '{"a":1}'
    assert seen["headers"]["x-test"] == "yes"
    assert seen["headers"]["host"] == http_server.host


def test_the_connection_goes_to_the_checked_address_with_the_real_host_header(
        http_server, monkeypatch):
    """DNS answers a public-looking address for the check... and the server's for the
    connection: only one lookup happens, so what was checked is what is called."""
    port = http_server.server_address[1]
    answers = iter(["127.0.0.1", "203.0.113.7"])
    lookups = []

    def getaddrinfo(host, p, *args, **kwargs):
        if host == "127.0.0.1":  # the connection itself, to the pinned address
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (host, p))]
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), p))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    response = outbound.request("GET", f"http://service.test:{port}/echo",
                                allowed_hosts=["service.test"], timeout=5, max_bytes=10_000)
    assert lookups == ["service.test"]
    assert response.address == "127.0.0.1"
    assert response.json()["headers"]["host"] == f"service.test:{port}"
    assert response.url == f"http://service.test:{port}/echo"


def test_redirects_are_not_followed_unless_asked_and_each_hop_is_checked(http_server):
    allowed = [http_server.host]
    to_local = http_server.url("/redirect?to=/echo")
    response = outbound.request("GET", to_local, allowed_hosts=allowed, timeout=5,
                                max_bytes=10_000)
    assert response.status_code == 302

    followed = outbound.request("GET", to_local, allowed_hosts=allowed, timeout=5,
                                max_bytes=10_000, max_redirects=3)
    assert followed.status_code == 200 and followed.json()["path"] == "/echo"

    to_metadata = http_server.url("/redirect?to=http://169.254.169.254/latest/meta-data/")
    with pytest.raises(OutboundRefused, match=re.escape(
            "Refused: 169.254.169.254 is a link-local address (where cloud metadata services "
            "answer), where a redirect pointed (1 hop).")):
        outbound.request("GET", to_metadata, allowed_hosts=allowed, timeout=5,
                         max_bytes=10_000, max_redirects=3)

    loop = http_server.url("/redirect?to=/redirect%3Fto%3D/echo")
    with pytest.raises(OutboundError, match="Too many redirects"):
        outbound.request("GET", loop, allowed_hosts=allowed, timeout=5, max_bytes=10_000,
                         max_redirects=1)


@pytest.mark.parametrize("declare", ["1", "0"])
def test_a_large_body_is_cut_off_at_the_cap(http_server, declare):
    url = http_server.url(f"/bytes/300000?declare={declare}")
    with pytest.raises(OutboundTooLarge, match="larger than 100000 bytes"):
        outbound.request("GET", url, allowed_hosts=[http_server.host], timeout=5,
                         max_bytes=100_000)
    small = outbound.request("GET", http_server.url("/bytes/1000"),
                             allowed_hosts=[http_server.host], timeout=5, max_bytes=100_000)
    assert small.content == b"x" * 1000


def test_a_slow_server_times_out(http_server):
    with pytest.raises(OutboundTimeout, match="did not answer in time") as timeout:
        outbound.request("GET", http_server.url("/slow/10?token=s3cret"),
                         allowed_hosts=[http_server.host], timeout=0.3, max_bytes=1000)
    assert timeout.value.retryable is True
    assert "s3cret" not in str(timeout.value)  # the query may hold credentials


def test_text_is_decoded_with_the_declared_charset(http_server):
    response = outbound.request("GET", http_server.url("/text"),
                                allowed_hosts=[http_server.host], timeout=5, max_bytes=1000)
    assert response.text == "olá, mundo"


@pytest.mark.parametrize("certificate_for", ["service.test", "someone-else.test"])
def test_https_to_the_pinned_address_keeps_the_name_for_sni_and_the_certificate(
        monkeypatch, certificate_for):
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "service.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with local_tls_server(certificate_for) as server:
        url = f"https://service.test:{server.port}/echo"
        if certificate_for != "service.test":  # the certificate is checked against the name
            with pytest.raises(OutboundError, match="CERTIFICATE_VERIFY_FAILED"):
                outbound.request("GET", url, allowed_hosts=["service.test"], timeout=5,
                                 max_bytes=10_000, verify=server.client_context)
            return
        response = outbound.request("GET", url, allowed_hosts=["service.test"], timeout=5,
                                    max_bytes=10_000, verify=server.client_context)
    assert response.status_code == 200 and response.address == "127.0.0.1"
    assert server.server_names == ["service.test"]
    assert response.json()["headers"]["host"] == f"service.test:{server.port}"
