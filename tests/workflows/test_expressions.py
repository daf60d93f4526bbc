"""Templated node config: what a workflow author writes and what the node receives."""

import pytest

from tests.factories import SecretFactory, WorkspaceFactory
from workflows.expressions import (
    ExpressionError,
    parse_errors,
    redact,
    referenced_nodes,
    render_config,
    workspace_secrets,
)
from workflows.nodes.base import NodeError
from workspaces.models import SecretAccess

SCOPE = {
    "input": {"customer": "ACME", "limit": 5},
    "nodes": {"fetch": {"output": {"items": [{"id": 7, "qty": 9}, {"id": 8, "qty": 1}],
                                   "count": 2, "ok": True}}},
    "execution": {"id": 41, "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"},
}


def render(config, secrets=None):
    return render_config(config, scope=SCOPE, secrets=secrets)[0]


def test_a_value_that_is_one_expression_keeps_its_type():
    assert render({"n": "{{ nodes.fetch.output.count }}", "ok": "{{ nodes.fetch.output.ok }}",
                   "items": "{{ nodes.fetch.output.items }}",
                   "first": " {{ nodes.fetch.output.items[0].id }} ",
                   "big": "{{ input.limit > 3 }}"}) == {
        "n": 2, "ok": True, "items": SCOPE["nodes"]["fetch"]["output"]["items"],
        "first": 7, "big": True}


def test_text_with_expressions_renders_to_text_with_json_for_data():
    rendered = render({"body": "Dear {{ input.customer }}: {{ nodes.fetch.output.count }} "
                               "items {{ nodes.fetch.output.items[1] }}, ok={{ "
                               "nodes.fetch.output.ok }}, none={{ none }}."})
    assert rendered["body"] == ('Dear ACME: 2 items {"id": 8, "qty": 1}, ok=true, '
                                "none=.")


def test_values_without_expressions_and_keys_are_left_alone():
    config = {"{{ input.customer }}": "{ not an expression }", "n": 3, "list": [1, None]}
    assert render(config) == config


def test_jmespath_selects_data_as_a_filter_and_as_a_function():
    assert render({
        "skus": "{{ nodes.fetch.output | jmespath('items[?qty > `5`].id') }}",
        "count": "{{ jmespath('nodes.fetch.output.count') }}",
        "of": "{{ jmespath('[0]', nodes.fetch.output.items) }}",
    }) == {"skus": [7], "count": 2, "of": {"id": 7, "qty": 9}}


def test_execution_fields_are_available():
    assert render({"id": "{{ execution.trace_id }}-{{ execution.id }}"}) == {
        "id": "4bf92f3577b34da6a3ce929d0e0e4736-41"}


@pytest.mark.parametrize(("config", "message"), [
    ({"url": "{{ input.nope }}"}, "url: no key 'nope' (there are: customer, limit)"),
    ({"headers": {"X-Id": "id {{ nodes.missing.output }}"}},
     "headers.X-Id: no key 'missing' (there are: fetch)"),
    ({"list": ["ok", "{{ nodes.fetch.output.items[5] }}"]},
     "list[1]: no item 5 (the list has 2)"),
    ({"x": "{{ customer }}"}, "x: 'customer' is undefined"),
    ({"x": "{{ 1 / 0 }}"}, "x: division by zero"),
    ({"x": "{{ input | jmespath('[[') }}"}, "x: JMESPath '[['"),
    ({"x": "{{ nodes.fetch.output.keys }}"}, "x: the expression gives a function"),
])
def test_errors_name_the_config_path(config, message):
    with pytest.raises(ExpressionError) as error:
        render(config)
    assert str(error.value).startswith(message)
    assert error.value.retryable is False


@pytest.mark.parametrize("expression", [
    "{{ input.__class__.__mro__ }}",
    "{{ ''.__class__.__subclasses__() }}",
    "{{ 'x' * 100000000 }}",
    "{{ 9 ** 99999999 }}",
    "{{ secrets._lookup }}",
])
def test_the_sandbox_refuses_internals_and_huge_results(expression):
    with pytest.raises(ExpressionError):
        render({"x": expression}, secrets=lambda name: "value")


def test_secrets_resolve_by_name_and_are_reported_for_redaction():
    vault = {"CRM_TOKEN": "tok-live-123", "other-key": "k-9"}
    rendered, used = render_config(
        {"headers": {"Authorization": "Bearer {{ secrets.CRM_TOKEN }}",
                     "X-Key": "{{ secrets['other-key'] }}"}},
        scope=SCOPE, secrets=vault.__getitem__)
    assert rendered == {"headers": {"Authorization": "Bearer tok-live-123", "X-Key": "k-9"}}
    assert set(used) == {"tok-live-123", "k-9"}


@pytest.mark.parametrize("expression", [
    "{{ input[secrets.CRM_TOKEN] }}", "{{ secrets.CRM_TOKEN | jmespath('[') }}",
    "{{ nodes.fetch.output | jmespath(secrets.CRM_TOKEN) }}", "{{ secrets.CRM_TOKEN + 1 }}"])
def test_a_failing_expression_does_not_reveal_the_secret_it_used(expression):
    with pytest.raises(ExpressionError) as error:
        render({"x": expression}, secrets={"CRM_TOKEN": "tok-live-123"}.__getitem__)
    assert "tok-live-123" not in str(error.value)
    assert str(error.value).startswith("x: ")


def test_without_a_vault_secrets_are_an_error_naming_the_path():
    with pytest.raises(ExpressionError, match=r"^token: secrets\.A: secrets are not available"):
        render({"token": "{{ secrets.A }}"})


def test_redact_replaces_every_secret_everywhere():
    secrets = ("tok-live-123", 'p"w/d')
    value = {"headers": {"authorization": "Bearer tok-live-123"},
             "echo": ['{"pw": "p\\"w/d"}', "url?token=tok-live-123"], "tok-live-123": 1,
             "encoded": "a=p%22w%2Fd", "n": 5, "none": None}
    assert redact(value, secrets) == {
        "headers": {"authorization": "Bearer ***"},
        "echo": ['{"pw": "***"}', "url?token=***"], "***": 1,
        "encoded": "a=***", "n": 5, "none": None}
    assert redact("nothing to hide", ()) == "nothing to hide"
    assert redact("x", ("",)) == "x"


@pytest.mark.parametrize(("text", "problem"), [
    ("{{ nodes.a.output }", "unexpected '}'"),
    ("{{ x | nosuchfilter }}", "No filter named 'nosuchfilter'"),
    ("{{ customer.name }}", "Unknown name 'customer'"),
    ("{{ jmespath('items[') }}", "JMESPath 'items['"),
    ("{{ input | jmespath('a..b') }}", "JMESPath 'a..b'"),
])
def test_parse_errors_find_problems_without_running(text, problem):
    [message] = parse_errors(text)
    assert problem in message


@pytest.mark.parametrize("text", [
    "plain text", "{{ input.x }}", "{% for i in input.items %}{{ i.id }},{% endfor %}",
    "{{ nodes.a.output | jmespath('items[0]') }}", "{% set n = 3 %}{{ n * 2 }}",
    "{{ secrets.TOKEN }} {{ execution.id }} {{ range(3) | list }}",
])
def test_parse_errors_accept_good_text(text):
    assert parse_errors(text) == []


def test_referenced_nodes_are_the_keys_read():
    text = ("{{ nodes.fetch.output.items }} {{ nodes['lookup'].output }} "
            "{{ jmespath('nodes.score.output.value') }} "
            "{{ nodes.fetch.output | jmespath('nodes.not_a_node') }} {{ input.nodes }}")
    assert referenced_nodes(text) == {"fetch", "lookup", "score"}
    assert referenced_nodes("no expressions") == set()
    assert referenced_nodes("{{ broken") == set()


# --- the workspace vault ---------------------------------------------------------------


@pytest.mark.django_db
def test_workspace_secrets_read_the_vault_of_that_workspace_only():
    workspace, other = WorkspaceFactory(), WorkspaceFactory()
    SecretFactory(workspace=workspace, name="CRM_TOKEN")  # value: sk-live-value
    SecretFactory(workspace=other, name="ELSEWHERE")
    lookup = workspace_secrets(workspace.pk)
    assert lookup("CRM_TOKEN") == "sk-live-value"
    with pytest.raises(NodeError, match="no secret named 'ELSEWHERE' in this workspace"):
        lookup("ELSEWHERE")


@pytest.mark.django_db
def test_secret_use_is_recorded_once_per_execution():
    workspace = WorkspaceFactory()
    secret = SecretFactory(workspace=workspace, name="CRM_TOKEN")
    for _attempt in range(3):  # three node attempts of one execution
        lookup = workspace_secrets(workspace.pk, execution_id=990_001)
        assert lookup("CRM_TOKEN") == lookup("CRM_TOKEN") == "sk-live-value"
    workspace_secrets(workspace.pk, execution_id=990_002)("CRM_TOKEN")
    accesses = SecretAccess.objects.filter(secret=secret)
    assert accesses.count() == 2
    assert {a.action for a in accesses} == {"reveal"}
    assert all(a.user_id is None and a.api_key_id is None for a in accesses)
