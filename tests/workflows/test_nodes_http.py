"""The HTTP request node against a local server: what is sent, what comes back, what is
refused, and that secrets never come back out."""

import re
import socket
import time

import pytest

from tests.factories import SecretFactory, WorkspaceFactory
from tests.local_http import local_server
from workflows.expressions import render_config, workspace_secrets
from workflows.nodes import registry
from workflows.nodes.base import NodeContext, NodeError
from workflows.nodes.http import HttpRequestNode

SETTING = "WORKFLOW_HTTP_ALLOWED_HOSTS"


@pytest.fixture
def server(settings):
    with local_server() as running:
        settings.WORKFLOW_HTTP_ALLOWED_HOSTS = [running.host]
        yield running


def run(config, *, secret_values=(), idempotency_key="trace-fetch-1", deadline=None):
    context = NodeContext(workspace_id=1, execution_id=1, node_key="fetch", attempt=1,
                          config=config, input={"main": None},
                          idempotency_key=idempotency_key, secret_values=secret_values,
                          deadline=deadline)
    return HttpRequestNode().run(context)


def test_it_is_a_registered_side_effecting_integration():
    assert registry.find("http_request") is HttpRequestNode
    assert HttpRequestNode.side_effects is True
    assert registry.config_errors(HttpRequestNode, {"url": "{{ input.url }}",
                                                    "method": "POST", "json": {"a": 1}}) == []
    assert registry.config_errors(HttpRequestNode, {"url": "http://x", "json": 1,
                                                    "body": "x"})


def test_a_post_sends_json_headers_query_and_the_idempotency_key(server):
    result = run({"method": "POST", "url": server.url("/echo?page=2"),
                  "query": {"limit": 10, "active": True}, "headers": {"X-Tenant": "acme"},
                  "json": {"sku": "CZN", "qty": 3}})
    assert result.ports == ("main",)
    output = result.output
    assert output["status"] == 200
    assert output["headers"]["content-type"] == "application/json"
    seen = output["json"]
    assert seen["method"] == "POST"
    assert seen["query"] == {"page": "2", "limit": "10", "active": "true"}
    assert seen["headers"]["x-tenant"] == "acme"
    assert seen["headers"]["idempotency-key"] == "trace-fetch-1"
    assert seen["body"] == '{"sku":"CZN","qty":3}'
    assert server.requests[0]["headers"]["idempotency-key"] == "trace-fetch-1"


def test_an_idempotency_key_set_by_the_author_is_kept(server):
    output = run({"url": server.url("/echo"),
                  "headers": {"idempotency-key": "mine"}}).output
    assert output["json"]["headers"]["idempotency-key"] == "mine"


def test_text_answers_come_back_as_text(server):
    output = run({"url": server.url("/text")}).output
    assert output["text"] == "olá, mundo" and "json" not in output
    assert output["headers"]["content-type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize(("url", "message"), [
    ("http://127.0.0.1:9/", "Refused: 127.0.0.1 is a loopback address"),
    ("http://10.0.0.1/", "Refused: 10.0.0.1 is a private address"),
    ("http://169.254.169.254/latest/meta-data/iam/", "Refused: 169.254.169.254 is a "
                                                     "link-local address"),
    ("http://localhost:8000/admin/", "Refused: localhost names this machine"),
    ("http://[::1]/", "Refused: ::1 is a loopback address"),
    ("http://2130706433/", "Refused: 2130706433 resolves to 127.0.0.1, a loopback address"),
])
def test_internal_addresses_fail_the_node_for_good_with_a_clear_message(settings, url, message):
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = []
    with pytest.raises(NodeError) as error:
        run({"url": url})
    assert str(error.value).startswith(message)
    assert f"(set {SETTING} to allow it)" in str(error.value)
    assert error.value.retryable is False


def test_a_hostname_resolving_to_a_private_address_is_refused(settings, monkeypatch):
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = []
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.168.0.10", port))])
    with pytest.raises(NodeError, match=re.escape(
            "Refused: crm.example.com resolves to 192.168.0.10, a private address")):
        run({"url": "https://crm.example.com/api/contacts"})


def test_the_local_server_itself_is_refused_unless_allowed(server, settings):
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = []
    with pytest.raises(NodeError, match="loopback"):
        run({"url": server.url("/echo")})
    assert server.requests == []


@pytest.mark.parametrize(("status", "retryable"), [
    (400, False), (404, False), (409, False), (408, True), (429, True), (500, True),
    (503, True)])
def test_unexpected_statuses_fail_retryable_only_when_retrying_can_help(server, status,
                                                                        retryable):
    with pytest.raises(NodeError) as error:
        run({"url": server.url(f"/status/{status}?key=abc")})
    message = str(error.value)
    assert message.startswith(f"GET {server.url(f'/status/{status}')} answered {status} ")
    assert f'(expected 2xx): {{"status": {status}}}' in message
    assert "key=abc" not in message
    assert error.value.retryable is retryable


def test_expected_statuses_can_be_chosen(server):
    output = run({"url": server.url("/status/404"), "expected_status": [200, 404]}).output
    assert output["status"] == 404 and output["json"] == {"status": 404}


def test_redirects_are_returned_unless_followed(server):
    url = server.url("/redirect?to=/echo")
    with pytest.raises(NodeError, match="answered 302"):
        run({"url": url})
    assert run({"url": url, "expected_status": [302]}).output["headers"]["location"] == "/echo"
    assert run({"url": url, "follow_redirects": True}).output["json"]["path"] == "/echo"


def test_a_body_over_the_cap_fails_for_good(server, settings):
    settings.WORKFLOW_HTTP_MAX_RESPONSE_BYTES = 1000
    with pytest.raises(NodeError, match="larger than 1000 bytes") as error:
        run({"url": server.url("/bytes/5000?declare=0")})
    assert error.value.retryable is False


def test_a_slow_server_times_out_and_is_retried(server):
    with pytest.raises(NodeError, match="did not answer in time") as error:
        run({"url": server.url("/slow/10"), "timeout": 0.3})
    assert error.value.retryable is True


def test_the_call_never_outlasts_the_attempt(server):
    with pytest.raises(NodeError, match="did not answer in time"):
        run({"url": server.url("/slow/10"), "timeout": 60},
            deadline=time.monotonic() + 0.3)
    with pytest.raises(NodeError, match="ran out of time") as error:
        run({"url": server.url("/echo")}, deadline=time.monotonic() - 1)
    assert error.value.retryable is True


def test_a_rendered_value_of_the_wrong_type_fails_naming_it(server):
    with pytest.raises(NodeError, match=r"Invalid config: url: 42 is not of type 'string'"):
        run({"url": 42})
    with pytest.raises(NodeError, match=re.escape("Refused: exa%20mple.com is not a valid "
                                                  "host name.")):
        run({"url": "http://exa mple.com/"})


@pytest.mark.django_db
def test_a_secret_in_a_header_never_comes_back_in_the_output_or_an_error(server):
    workspace = WorkspaceFactory()
    SecretFactory(workspace=workspace, name="CRM_TOKEN")  # value: sk-live-value
    config = {"url": server.url("/echo"),
              "headers": {"Authorization": "Bearer {{ secrets.CRM_TOKEN }}"}}
    rendered, used = render_config(config, scope={"input": {}, "nodes": {}},
                                   secrets=workspace_secrets(workspace.pk))
    assert used == ("sk-live-value",)

    output = run(rendered, secret_values=used).output
    # The server did get it, and echoed it back; the node's output does not carry it.
    assert server.requests[-1]["headers"]["authorization"] == "Bearer sk-live-value"
    assert output["json"]["headers"]["authorization"] == "Bearer ***"
    assert "sk-live-value" not in repr(output)

    rendered["url"] = server.url("/echo?status=500")
    with pytest.raises(NodeError) as error:
        run(rendered, secret_values=used)
    assert "answered 500" in str(error.value) and "Bearer ***" in str(error.value)
    assert "sk-live-value" not in str(error.value)


def test_a_secret_in_the_url_never_appears_in_a_refusal(settings, monkeypatch):
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = []
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", port))])
    with pytest.raises(NodeError) as error:
        run({"url": "http://sk-live-value.example.com/?token=sk-live-value"},
            secret_values=("sk-live-value",))
    assert str(error.value).startswith("Refused: ***.example.com resolves to 10.0.0.1")


def test_a_secret_in_a_value_of_the_wrong_type_is_not_quoted():
    with pytest.raises(NodeError, match=r"timeout: '\*\*\*' is not of type 'number'"):
        run({"url": "http://example.com/", "timeout": "sk-live-value"},
            secret_values=("sk-live-value",))
