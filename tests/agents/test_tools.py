"""The tool-calling loop: a real published workflow as a tool (run by the engine,
eagerly), tool failures the model reads, the step bound, and delegation's depth limit."""

import json

import pytest
from django.test import override_settings

from agents.models import AgentErrorLog, Conversation, LLMUsageLog
from agents.services.chat import run_turn
from core.api.errors import ApiError
from tests.agents.chat_support import (
    agent,
    chat_model,
    live_agent,
    offered,
    priced,
    sent_messages,
    text,
    tool_call,
)
from tests.factories.agents import (
    AgentHierarchyFactory,
    AgentKnowledgeBaseFactory,
    AgentToolFactory,
    KnowledgeBaseFactory,
)
from tests.factories.workflows import WorkflowFactory
from tests.workflows.engine_nodes import edge, node, publish
from workflows.models import Execution

FIXTURES = (agent, chat_model)  # used by name as test arguments
ORDER_SCHEMA = {"type": "object", "properties": {"order": {"type": "string"}},
                "required": ["order"]}


def roles(result) -> list[str]:
    return [m.role for m in result.messages]


@pytest.fixture
def order_tool(agent):
    """``lookup_order``: a published workflow that adds ``status: shipped`` to its input."""
    workflow = WorkflowFactory(workspace=agent.workspace, input_schema=ORDER_SCHEMA,
                               retry_policy={"max_attempts": 1}, concurrency_limit=None)
    publish(workflow, [node("mark", "set_values",
                            config={"values": {"status": "shipped"}})],
            [edge("start", "mark")])
    tool = AgentToolFactory(workspace=agent.workspace, agent=agent, name="lookup_order",
                            workflow=workflow, input_schema={})
    agent.live_configuration.tools.add(tool)
    return tool


@pytest.mark.django_db(transaction=True)  # the engine starts executions on commit
def test_the_model_calls_a_workflow_tool_and_answers_with_its_result(agent, order_tool,
                                                                     llm_server):
    llm_server.script([tool_call("lookup_order", {"order": "1042"}),
                       text("Order 1042 has shipped.")])
    result = run_turn(agent=agent, text="Where is order 1042?", principal=None)
    assert roles(result) == ["user", "assistant", "tool", "assistant"]
    asked, answered = result.messages[1], result.messages[2]
    assert asked.tool_calls[0]["name"] == "lookup_order"
    assert answered.tool_call_id == asked.tool_calls[0]["id"]
    assert '"status": "shipped"' in answered.content and "1042" in answered.content
    execution = Execution.objects.get(workflow=order_tool.workflow)
    assert (execution.source, execution.status) == ("agent", "succeeded")
    assert execution.input == {"order": "1042"}
    assert sorted(offered(llm_server, 0)) == ["lookup_order"]
    # The first request offered the workflow's input schema as the tool's parameters.
    assert offered(llm_server, 0)["lookup_order"] == ORDER_SCHEMA
    assert result.reply.content == "Order 1042 has shipped."
    assert LLMUsageLog.objects.filter(conversation=result.conversation).count() == 2
    conversation = Conversation.objects.get()
    assert conversation.tokens_in == sum(m.tokens_in for m in result.messages)


@pytest.mark.django_db(transaction=True)
def test_bad_tool_arguments_are_a_result_the_model_reads(agent, order_tool, llm_server):
    llm_server.script([tool_call("lookup_order", {"id": 5}), text("Which order number?")])
    result = run_turn(agent=agent, text="Where is my order?", principal=None)
    failed = result.messages[2]
    assert failed.role == "tool" and "order" in failed.error
    assert "error" in failed.content
    assert not Execution.objects.exists()
    assert AgentErrorLog.objects.get().kind == "tool"
    assert result.reply.content == "Which order number?"


@pytest.mark.django_db
def test_an_unknown_tool_is_refused_to_the_model(agent, llm_server):
    llm_server.script([tool_call("drop_tables", {}), text("Sorry.")])
    result = run_turn(agent=agent, text="hi", principal=None)
    assert "unknown_tool" in result.messages[2].content
    assert result.reply.content == "Sorry."


@pytest.mark.django_db
def test_the_loop_stops_at_the_versions_step_limit(chat_model, llm_server):
    agent = live_agent(priced(chat_model), max_steps=2)
    llm_server.script([tool_call("nothing", {})] * 3)
    with pytest.raises(ApiError) as refused:
        run_turn(agent=agent, text="loop", principal=None)
    assert (refused.value.status_code, refused.value.error_code) == (422, "step_limit")
    assert LLMUsageLog.objects.count() == 2  # two model calls, not three
    assert AgentErrorLog.objects.get(kind="limit").conversation_id == \
        refused.value.errors["conversation"]


@pytest.mark.django_db
@override_settings(AGENT_DELEGATION_MAX_DEPTH=1)
def test_delegation_goes_one_level_down_and_no_further(chat_model, llm_server):
    model = priced(chat_model)
    supervisor, billing, ledger = live_agent(model), live_agent(model), live_agent(model)
    AgentHierarchyFactory(workspace=model.workspace, supervisor=supervisor, sub_agent=billing)
    AgentHierarchyFactory(workspace=model.workspace, supervisor=billing, sub_agent=ledger)
    llm_server.script([
        tool_call(f"delegate_{billing.pk}", {"message": "Is invoice 7 paid?"}),
        tool_call(f"delegate_{ledger.pk}", {"message": "Look it up"}),  # billing tries
        text("Invoice 7 is paid."),  # billing, after being refused
        text("Yes: invoice 7 is paid."),  # supervisor
    ])
    result = run_turn(agent=supervisor, text="Is invoice 7 paid?", principal=None)
    assert result.reply.content == "Yes: invoice 7 is paid."
    assert sorted(offered(llm_server, 0)) == [f"delegate_{billing.pk}"]
    assert sorted(offered(llm_server, 1)) == []  # at the limit: nothing to delegate to
    sub = Conversation.objects.get(agent=billing)
    assert (sub.channel, sub.parent_id) == ("delegation", result.conversation.pk)
    refused = sub.messages.get(role="tool")
    assert "depth_limit" in refused.content
    assert not Conversation.objects.filter(agent=ledger).exists()
    assert "Invoice 7 is paid." in result.messages[2].content
    with pytest.raises(ApiError) as too_deep:
        run_turn(agent=ledger, text="hi", principal=None, depth=2)
    assert too_deep.value.error_code == "delegation_depth"


CORPUS = {
    "Returns": "You may return an item within 30 days of delivery. Refunds go back to the "
               "original payment method once the returned parcel reaches our warehouse.",
    "Shipping": "We ship parcels to Canada, Mexico and Europe. International shipping takes "
                "five to ten business days and customs duties are paid on arrival.",
    "Stores": "Our stores open at nine and close at six; on Sunday opening hours are ten "
              "to four.",
}


@pytest.fixture
def help_centre(agent, django_capture_on_commit_callbacks):
    from agents.services import knowledge

    kb = KnowledgeBaseFactory(workspace=agent.workspace, language="english")
    with django_capture_on_commit_callbacks(execute=True):
        for title, body in CORPUS.items():
            knowledge.document_create(knowledge_base=kb, title=title, text=body)
    return kb


@pytest.mark.django_db
def test_linked_knowledge_is_retrieved_into_the_prompt(agent, help_centre, llm_server):
    AgentKnowledgeBaseFactory(workspace=agent.workspace, configuration=agent.live_configuration,
                              knowledge_base=help_centre, top_k=1)
    run_turn(agent=agent, text="How many days do I have to return an item?", principal=None)
    system = sent_messages(llm_server, 0)[0][1]
    assert "Returns: You may return an item within 30 days" in system
    assert "Shipping" not in system and "Stores" not in system


@pytest.mark.django_db
def test_the_knowledge_search_tool_returns_the_best_passages(agent, help_centre, llm_server):
    tool = AgentToolFactory(workspace=agent.workspace, agent=agent, name="search_help",
                            kind="knowledge_search", workflow=None, knowledge_base=help_centre,
                            input_schema={})
    agent.live_configuration.tools.add(tool)
    llm_server.script([tool_call("search_help", {"query": "international shipping customs"}),
                       text("Customs are paid on arrival.")])
    result = run_turn(agent=agent, text="Do I pay customs?", principal=None)
    hits = json.loads(result.messages[2].content)
    assert hits[0]["document"] == "Shipping" and "customs duties" in hits[0]["text"]
    assert offered(llm_server, 0)["search_help"]["required"] == ["query"]


@pytest.mark.django_db
@pytest.mark.parametrize("k", [100_000, 0, "ten", 2.5])
def test_the_search_tool_refuses_a_k_out_of_range(agent, help_centre, llm_server, k):
    tool = AgentToolFactory(workspace=agent.workspace, agent=agent, name="search_help",
                            kind="knowledge_search", workflow=None, knowledge_base=help_centre,
                            input_schema={})
    agent.live_configuration.tools.add(tool)
    llm_server.script([tool_call("search_help", {"query": "shipping", "k": k}),
                       text("Let me try again.")])
    result = run_turn(agent=agent, text="Do I pay customs?", principal=None)
    answer = result.messages[2].content
    assert "bad_arguments" in answer and "from 1 to 50" in answer


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["openai_compatible", "anthropic"])
def test_a_tool_round_trip_speaks_both_wire_formats(make_llm_model, llm_server, kind):
    agent = live_agent(priced(make_llm_model(kind=kind, timeout=2, price=None)))
    llm_server.script([tool_call("weather", {"city": "Porto"}), text("It is sunny.")])
    result = run_turn(agent=agent, text="Weather in Porto?", principal=None, channel="api")
    assert roles(result) == ["user", "assistant", "tool", "assistant"]
    assert result.messages[1].tool_calls[0]["arguments"] == {"city": "Porto"}
    # The second request carried the model's call and our answer to it.
    second = json.dumps(llm_server.requests[1]["json"])
    assert "unknown_tool" in second and result.messages[1].tool_calls[0]["id"] in second
    assert result.reply.content == "It is sunny."
    assert result.conversation.cost == sum(m.cost for m in result.messages) > 0
