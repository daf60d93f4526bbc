"""A chat turn through chat.run_turn against the local fake LLM server: what it records
(messages, tokens, cost = tokens times the price), fallbacks, response formats, errors."""

from decimal import Decimal

import pytest

from agents.models import (
    AgentErrorLog,
    Conversation,
    LLMUsageLog,
    Message,
)
from agents.services.chat import run_turn
from core import events
from core.api.errors import ApiError
from tests.agents.chat_support import (
    agent,
    chat_model,
    expected_cost,
    fail,
    live_agent,
    member,
    other_model,
    priced,
    sent_messages,
    text,
    timeout,
)
from tests.agents.conftest import TEST_API_KEY
from tests.factories.agents import (
    AgentAccessFactory,
    AgentConfigurationFactory,
    AgentFactory,
    AgentModelFactory,
)

pytestmark = pytest.mark.django_db

FIXTURES = (agent, chat_model, other_model)  # used by name as test arguments


def test_a_turn_records_the_exchange_with_tokens_and_cost(
        agent, llm_server, django_capture_on_commit_callbacks):
    seen = []
    events.subscribe(seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            result = run_turn(agent=agent, text="Where is my order 1042?",
                              principal=member(agent.workspace))
    finally:
        events.unsubscribe(seen.append)
    conversation = result.conversation
    rows = list(conversation.messages.order_by("sequence"))
    assert [(m.sequence, m.role) for m in rows] == [(1, "user"), (2, "assistant")]
    assert rows[0].content == "Where is my order 1042?"
    reply = rows[1]
    assert reply.pk == result.reply.pk and reply.content == result.output
    assert reply.content and reply.finish_reason == "stop"
    log = LLMUsageLog.objects.get(conversation=conversation)
    assert (log.source, log.status, log.agent_id, log.message_id) == (
        "chat", "ok", agent.pk, result.reply.pk)
    assert reply.tokens_in == log.tokens_in > 0 and reply.tokens_out == log.tokens_out > 0
    assert reply.cost == log.cost == expected_cost(log.tokens_in, log.tokens_out)
    assert (conversation.tokens_in, conversation.tokens_out, conversation.cost) == (
        log.tokens_in, log.tokens_out, log.cost)
    assert conversation.channel == "api" and conversation.configuration_id == \
        agent.live_configuration_id
    replied = [e for e in seen if e.name == "agents.conversation.replied"]
    assert replied[0].payload["message"] == reply.pk


def test_the_next_turn_sends_the_history_and_continues_the_numbering(agent, llm_server):
    first = run_turn(agent=agent, text="My name is Ada.", principal=None)
    second = run_turn(agent=agent, text="What is my name?", principal=None,
                      conversation=first.conversation)
    assert [m.sequence for m in second.messages] == [3, 4]
    sent = sent_messages(llm_server)
    assert [role for role, _ in sent] == ["system", "user", "assistant", "user"]
    assert sent[1][1] == "My name is Ada." and sent[3][1] == "What is my name?"
    assert Conversation.objects.count() == 1


def test_a_viewer_needs_a_grant_to_chat(agent, llm_server):
    viewer = member(agent.workspace, role="viewer")
    with pytest.raises(ApiError) as refused:
        run_turn(agent=agent, text="hi", principal=viewer)
    assert (refused.value.status_code, refused.value.error_code) == (403, "agent_access_denied")
    assert not Conversation.objects.exists()
    AgentAccessFactory(workspace=agent.workspace, agent=agent, user=viewer.user)
    assert run_turn(agent=agent, text="hi", principal=viewer).reply.content


def test_an_unpublished_or_paused_agent_does_not_chat(chat_model, llm_server):
    agent = AgentFactory(workspace=chat_model.workspace)
    with pytest.raises(ApiError) as refused:
        run_turn(agent=agent, text="hi", principal=None)
    assert refused.value.error_code == "agent_not_ready"
    paused = live_agent(chat_model)
    paused.status = paused.Status.PAUSED
    paused.save()
    with pytest.raises(ApiError) as refused:
        run_turn(agent=paused, text="hi", principal=None)
    assert refused.value.status_code == 409 and "paused" in refused.value.message


def test_a_draft_version_can_be_tried_without_publishing(agent, llm_server):
    draft = AgentConfigurationFactory(workspace=agent.workspace, agent=agent,
                                      model=agent.live_configuration.model,
                                      system_prompt="You are the DRAFT prompt.")
    result = run_turn(agent=agent, text="hi", principal=None, channel="admin",
                      configuration=draft)
    assert result.conversation.configuration_id == draft.pk
    assert "DRAFT prompt" in sent_messages(llm_server)[0][1]


def test_a_provider_failure_is_recorded_and_answered_502(agent, llm_server):
    llm_server.script([fail(500), fail(500), fail(500)])
    with pytest.raises(ApiError) as refused:
        run_turn(agent=agent, text="hi", principal=None)
    error = refused.value
    assert (error.status_code, error.error_code) == (502, "provider_error")
    conversation = Conversation.objects.get(pk=error.errors["conversation"])
    last = conversation.messages.order_by("sequence").last()
    assert last.role == "assistant" and last.finish_reason == "error" and last.error
    assert AgentErrorLog.objects.get(conversation=conversation).kind == "provider"
    assert LLMUsageLog.objects.get(conversation=conversation).status == "error"


def test_a_timeout_is_answered_504(agent, llm_server):
    llm_server.script([timeout()] * 3)
    with pytest.raises(ApiError) as refused:
        run_turn(agent=agent, text="hi", principal=None)
    assert (refused.value.status_code, refused.value.error_code) == (504, "provider_timeout")


def test_a_failing_model_falls_back_to_the_next(agent, chat_model, other_model, llm_server):
    priced(other_model)
    AgentModelFactory(workspace=agent.workspace, configuration=agent.live_configuration,
                      model=other_model, position=1)
    llm_server.script([fail(500), text("From the fallback")])
    result = run_turn(agent=agent, text="hi", principal=None)
    assert result.reply.content == "From the fallback"
    assert result.reply.model_id == other_model.pk
    assert list(LLMUsageLog.objects.order_by("id").values_list("status", "model_id")) == [
        ("error", chat_model.pk), ("ok", other_model.pk)]


def test_a_response_format_is_parsed_and_repaired_once(chat_model, llm_server):
    schema = {"type": "object", "properties": {"city": {"type": "string"}},
              "required": ["city"]}
    agent = live_agent(priced(chat_model), response_format=schema)
    llm_server.script([text('{"town": "Lisbon"}'), text('{"city": "Lisbon"}')])
    result = run_turn(agent=agent, text="Where?", principal=None)
    assert result.output == {"city": "Lisbon"}
    llm_server.script([text("not json"), text('{"city": 7}')])
    with pytest.raises(ApiError) as refused:
        run_turn(agent=agent, text="Where?", principal=None)
    assert (refused.value.status_code, refused.value.error_code) == (422, "invalid_output")
    assert AgentErrorLog.objects.filter(kind="output").count() == 1


def test_the_provider_key_never_reaches_messages_logs_or_errors(agent, llm_server, caplog):
    key = TEST_API_KEY
    run_turn(agent=agent, text="hello", principal=None)
    llm_server.api_key = "sk-the-right-one"  # the server now echoes the key it was sent
    with pytest.raises(ApiError) as refused:
        run_turn(agent=agent, text="hello", principal=None)
    stored = [*Message.objects.values_list("content", "error"),
              *LLMUsageLog.objects.values_list("error", "model_name"),
              *AgentErrorLog.objects.values_list("message", "detail")]
    assert key not in repr(stored)
    assert key not in repr((refused.value.message, refused.value.errors))
    assert key not in caplog.text


def test_a_failed_call_gives_its_reservation_back_and_a_good_one_settles(agent, llm_server):
    from agents.models import AgentQuota
    from tests.factories.agents import AgentQuotaFactory

    quota = AgentQuotaFactory(workspace=agent.workspace, agent=agent, max_tokens=None,
                              max_cost=Decimal("1.00"))
    llm_server.script([fail(500)])
    with pytest.raises(ApiError):
        run_turn(agent=agent, text="hi", principal=None)
    quota = AgentQuota.objects.get(pk=quota.pk)
    assert (quota.tokens_reserved, quota.cost_reserved, quota.cost_used) == (0, 0, 0)
    result = run_turn(agent=agent, text="hi", principal=None)
    quota = AgentQuota.objects.get(pk=quota.pk)
    assert quota.cost_reserved == 0 and quota.cost_used == result.reply.cost > 0
    assert quota.tokens_used == result.reply.tokens_in + result.reply.tokens_out


def test_a_turn_interleaved_with_another_on_the_same_conversation_numbers_on(agent,
                                                                              llm_server):
    first = run_turn(agent=agent, text="My name is Ada.", principal=None)
    conversation = first.conversation
    inner = []

    def meanwhile(_token):  # another turn answers while this one waits for its model
        if not inner:
            inner.append(run_turn(agent=agent, text="And my order?", principal=None,
                                  conversation=conversation))

    outer = run_turn(agent=agent, text="What is my name?", principal=None,
                     conversation=conversation, on_token=meanwhile)
    assert [m.sequence for m in inner[0].messages] == [4, 5]
    assert [(m.sequence, m.role) for m in outer.messages] == [(3, "user"), (6, "assistant")]
    rows = list(conversation.messages.order_by("sequence"))
    assert [m.sequence for m in rows] == [1, 2, 3, 4, 5, 6]
    assert outer.conversation.tokens_in == sum(m.tokens_in for m in rows) > 0
    assert outer.conversation.cost == sum(m.cost for m in rows)
    assert LLMUsageLog.objects.get(message=outer.reply).conversation_id == conversation.pk
