"""The workflow LLM node against the local fake LLM server, run by the engine: a model
call or an agent's turn, JSON checked against a schema, tokens and cost on the span and
in the usage log, errors that fail (or retry) the node, and nothing crossing workspaces."""

import json
from decimal import Decimal

import pytest

from agents.models import AgentConfiguration, Conversation, LLMModel, LLMUsageLog
from tests.agents.conftest import TEST_API_KEY
from tests.factories import SecretFactory
from tests.factories.agents import AgentConfigurationFactory, AgentQuotaFactory, LLMModelFactory
from tests.workflows.engine_nodes import (
    edge,
    engine_workflow,
    node,
    publish,
    run_eagerly,
    spans,
    test_node_types,
)
from workflows.models import Execution
from workflows.nodes import registry
from workflows.nodes.llm import LLMNode
from workspaces.services import vault

FIXTURES = (engine_workflow, run_eagerly, test_node_types)  # used by name as arguments
pytestmark = pytest.mark.django_db
RETRY_ONCE = {"max_attempts": 2, "backoff": 0, "jitter": 0, "max_delay": 0}


@pytest.fixture
def server(llm_server):
    return llm_server


@pytest.fixture
def model(engine_workflow, make_llm_model):
    """A priced chat model of the workflow's workspace ($1 in, $2 out per million tokens),
    served by the fake server."""
    return make_llm_model(engine_workflow.workspace, name="gpt-4o-mini")


@pytest.fixture
def agent(model):
    configuration = AgentConfigurationFactory(
        workspace=model.workspace, agent__workspace=model.workspace, model=model,
        system_prompt="You answer order questions.")
    AgentConfiguration.objects.filter(pk=configuration.pk).update(
        status=AgentConfiguration.Status.PUBLISHED, number=1)
    agent = configuration.agent
    agent.live_configuration = configuration
    agent.save()
    return agent


def run_node(workflow, run, config, *, input=None, **fields):
    publish(workflow, [node("ask", "llm", config=config, **fields)], [edge("start", "ask")])
    execution = run(workflow, input or {"text": "Order 1042 is late"})
    return execution, spans(execution, "ask")


def test_it_is_registered_in_the_ai_category_with_one_mode_at_a_time():
    assert registry.find("llm") is LLMNode and LLMNode.category == "ai"
    assert LLMNode.side_effects is True
    assert registry.config_errors(LLMNode, {"agent": 1, "message": "{{ input.text }}"}) == []
    assert registry.config_errors(LLMNode, {"model": 1, "prompt": "Hi", "system": "Be brief",
                                            "temperature": 0.2, "max_tokens": 50,
                                            "json_schema": {"type": "object"}}) == []
    both = registry.config_errors(LLMNode, {"agent": 1, "message": "m", "prompt": "p"})
    assert both and both[0].startswith("prompt:")
    assert registry.config_errors(LLMNode, {"agent": 1}) == \
        ["config: 'message' is a dependency of 'agent'"]
    assert "config: 'model' is a required property" in registry.config_errors(LLMNode, {})


def test_model_mode_puts_the_answer_tokens_and_cost_on_the_span(engine_workflow, run_eagerly,
                                                                model, server):
    execution, [span] = run_node(engine_workflow, run_eagerly, {
        "model": model.pk, "system": "Be brief.", "prompt": "Summarise: {{ input.text }}",
        "temperature": 0.1, "max_tokens": 60})
    assert execution.status == Execution.Status.SUCCEEDED, execution.error
    sent = server.requests[-1]["json"]
    assert [m["content"] for m in sent["messages"]] == ["Be brief.",
                                                        "Summarise: Order 1042 is late"]
    assert (sent["temperature"], sent["max_tokens"]) == (0.1, 60)
    row = LLMUsageLog.objects.get()
    assert (row.source, row.workflow_id, row.execution_id, row.node_key) == \
        ("workflow", engine_workflow.pk, execution.pk, "ask")
    assert span.output["text"] == "Fake LLM reply: Summarise: Order 1042 is late"
    assert span.output["usage"] == {"tokens_in": row.tokens_in, "tokens_out": row.tokens_out,
                                    "cached_tokens": 0, "calls": 1}
    assert row.tokens_in > 0 and row.tokens_out > 0
    assert Decimal(span.output["cost"]) == row.cost == \
        (row.tokens_in * 1 + row.tokens_out * 2) / Decimal(1_000_000)
    assert span.output["currency"] == "USD" and span.output["usage_log"] == row.pk


def test_an_answer_matching_the_schema_is_parsed(engine_workflow, run_eagerly, model, server):
    schema = {"type": "object", "required": ["priority", "late"],
              "properties": {"priority": {"enum": ["high", "low"]},
                             "late": {"type": "boolean"}}}
    execution, [span] = run_node(engine_workflow, run_eagerly, {
        "model": model.pk, "prompt": "Classify: {{ input.text }}", "json_schema": schema})
    assert execution.status == Execution.Status.SUCCEEDED, execution.error
    assert span.output["json"] == {"priority": "high", "late": True}
    # The schema went to the provider as the response format.
    assert "json_schema" in json.dumps(server.requests[-1]["json"].get("response_format"))


def test_a_fenced_json_answer_is_accepted(engine_workflow, run_eagerly, model, server):
    server.script([{"text": '```json\n{"total": 3}\n```'}])
    execution, [span] = run_node(engine_workflow, run_eagerly, {
        "model": model.pk, "prompt": "Count", "json_schema": {
            "type": "object", "properties": {"total": {"type": "integer"}}}})
    assert execution.status == Execution.Status.SUCCEEDED, execution.error
    assert span.output["json"] == {"total": 3}


@pytest.mark.parametrize(("answer", "message"), [
    ("Sure! The total is three.", "The answer is not JSON"),
    ('{"total": "three"}', "does not match json_schema: total: 'three' is not of type"),
])
def test_an_answer_not_matching_the_schema_fails_the_node_and_is_retried(
        engine_workflow, run_eagerly, model, server, answer, message):
    server.script([{"text": answer}, {"text": answer}])
    execution, attempts = run_node(
        engine_workflow, run_eagerly, retry_policy=RETRY_ONCE, config={
            "model": model.pk, "prompt": "Count", "json_schema": {
                "type": "object", "properties": {"total": {"type": "integer"}}}})
    assert execution.status == Execution.Status.FAILED
    assert [a.status for a in attempts] == ["failed", "failed"]
    assert message in attempts[-1].error
    assert LLMUsageLog.objects.count() == 2  # both calls were made and recorded


def test_agent_mode_runs_a_turn_of_the_agent(engine_workflow, run_eagerly, agent, server):
    execution, [span] = run_node(engine_workflow, run_eagerly, {
        "agent": agent.pk, "message": "Where is {{ input.text }}?"})
    assert execution.status == Execution.Status.SUCCEEDED, execution.error
    conversation = Conversation.objects.get()
    assert conversation.agent == agent and conversation.channel == "workflow"
    assert span.output["text"] == "Fake LLM reply: Where is Order 1042 is late?"
    assert span.output["conversation"] == conversation.pk
    sent = server.requests[-1]["json"]["messages"]
    assert sent[0]["content"].startswith("You answer order questions.")
    rows = LLMUsageLog.objects.filter(agent=agent)
    assert rows.count() == span.output["usage"]["calls"] == 1
    row = rows.get()
    assert (row.execution_id, row.node_key) == (execution.pk, "ask")
    assert (span.output["usage"]["tokens_in"], span.output["usage"]["tokens_out"]) == \
        (row.tokens_in, row.tokens_out)
    assert Decimal(span.output["cost"]) == row.cost > 0


def test_a_model_or_agent_of_another_workspace_is_not_found(engine_workflow, run_eagerly,
                                                            server):
    foreign_model = LLMModelFactory(provider__base_url=server.url("/v1"))
    foreign_agent = AgentConfigurationFactory(model=foreign_model,
                                              workspace=foreign_model.workspace,
                                              agent__workspace=foreign_model.workspace).agent
    for config, field in (({"model": foreign_model.pk, "prompt": "hi"}, "model"),
                          ({"agent": foreign_agent.pk, "message": "hi"}, "agent")):
        execution, [span] = run_node(engine_workflow, run_eagerly, config,
                                     retry_policy=RETRY_ONCE)
        assert execution.status == Execution.Status.FAILED
        assert span.error == f"{field}: there is no {field} #{config[field]} in this workspace."
    assert server.requests == [] and not LLMUsageLog.objects.exists()


def test_an_embedding_model_is_refused(engine_workflow, run_eagerly, model, server):
    LLMModel.objects.filter(pk=model.pk).update(kind=LLMModel.Kind.EMBEDDING)
    execution, [span] = run_node(engine_workflow, run_eagerly, {"model": model.pk,
                                                                "prompt": "hi"})
    assert execution.status == Execution.Status.FAILED
    assert "makes embeddings" in span.error and server.requests == []


def test_provider_failures_are_retried_and_the_key_never_shows(engine_workflow, run_eagerly,
                                                                model, server):
    server.script([{"status": 500}])
    execution, attempts = run_node(engine_workflow, run_eagerly, {"model": model.pk,
                                                                  "prompt": "hi"},
                                   retry_policy=RETRY_ONCE)
    assert execution.status == Execution.Status.SUCCEEDED, execution.error
    assert [a.status for a in attempts] == ["failed", "succeeded"]
    assert "The model call failed" in attempts[0].error
    assert TEST_API_KEY not in repr([(a.error, a.output) for a in attempts]) + execution.error
    statuses = sorted(LLMUsageLog.objects.values_list("status", flat=True))
    assert statuses == ["error", "ok"]


def test_an_exhausted_quota_fails_the_node_for_good(engine_workflow, run_eagerly, model,
                                                    server):
    AgentQuotaFactory(workspace=model.workspace, agent=None, max_tokens=5, max_cost=None)
    execution, attempts = run_node(engine_workflow, run_eagerly, {"model": model.pk,
                                                                  "prompt": "hi"},
                                   retry_policy=RETRY_ONCE)
    assert execution.status == Execution.Status.FAILED
    assert len(attempts) == 1  # not retried: waiting seconds does not reset a quota
    assert "quota" in attempts[0].error.lower() and server.requests == []


def test_a_secret_in_the_prompt_is_redacted_from_the_span(engine_workflow, run_eagerly,
                                                          model, server):
    SecretFactory(workspace=model.workspace, name="ORDER_TOKEN",
                  ciphertext=vault.encrypt("tok-5e5e5e5e5e"))
    execution, [span] = run_node(engine_workflow, run_eagerly, {
        "model": model.pk, "prompt": "Token {{ secrets.ORDER_TOKEN }} for {{ input.text }}"})
    assert execution.status == Execution.Status.SUCCEEDED, execution.error
    assert "tok-5e5e5e5e5e" in server.requests[-1]["json"]["messages"][-1]["content"]
    assert "tok-5e5e5e5e5e" not in json.dumps(span.output)
    assert span.output["text"] == "Fake LLM reply: Token *** for Order 1042 is late"
