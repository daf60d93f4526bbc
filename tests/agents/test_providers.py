"""providers.chat against the fake server, for both wire formats: answers, streaming,
tool calls, usage as reported, and the request each SDK actually sent."""

from __future__ import annotations

import json

import pytest

from agents import providers
from agents.providers.base import ChatMessage, ToolCall, ToolSpec

pytestmark = pytest.mark.django_db

LOOKUP = ToolSpec("lookup_order", "Find an order by its number.",
                  {"type": "object", "properties": {"number": {"type": "integer"}},
                   "required": ["number"]})


def _is_anthropic(model) -> bool:
    return model.provider.kind == "anthropic"


def test_plain_answer_with_reported_usage(any_llm_model, llm_server):
    llm_server.script([{"text": "Your order shipped.",
                        "usage": {"input": 120, "output": 7, "cached": 40}}])
    result = providers.chat(any_llm_model, [ChatMessage("system", "Be brief."),
                                            ChatMessage("user", "Where is my order?")],
                            temperature=0.2, max_tokens=50)
    assert result.content == "Your order shipped."
    assert result.finish_reason == "stop"
    assert result.tool_calls == []
    # Exactly the provider's numbers (an estimate from the short text would be far lower).
    assert (result.usage.tokens_in, result.usage.tokens_out, result.usage.cached_tokens,
            result.usage.reported) == (120, 7, 40, True)
    assert "fake" in result.model_name
    assert result.request_id
    sent = llm_server.requests[-1]["json"]
    assert sent["model"] == any_llm_model.name
    assert sent["max_tokens"] == 50
    if _is_anthropic(any_llm_model):
        assert sent["system"] == "Be brief."
        assert sent["messages"] == [{"role": "user", "content": [
            {"type": "text", "text": "Where is my order?"}]}]
    else:
        assert sent["temperature"] == 0.2
        assert sent["messages"][0] == {"role": "system", "content": "Be brief."}


def test_default_fake_answer_echoes_the_question(any_llm_model):
    result = providers.chat(any_llm_model, [ChatMessage("user", "hello there")])
    assert result.content == "Fake LLM reply: hello there"
    assert result.usage.reported and result.usage.tokens_in > 0 and result.usage.tokens_out > 0


def test_streaming_calls_on_token_per_delta_and_takes_usage_from_the_end(any_llm_model,
                                                                        llm_server):
    llm_server.script([{"text": "one two three four",
                        "usage": {"input": 33, "output": 4, "cached": 0}}])
    deltas: list[str] = []
    result = providers.chat(any_llm_model, [ChatMessage("user", "count")],
                            on_token=deltas.append)
    assert len(deltas) == 4
    assert "".join(deltas) == result.content == "one two three four"
    assert (result.usage.tokens_in, result.usage.tokens_out, result.usage.reported) == (33, 4, True)
    sent = llm_server.requests[-1]["json"]
    assert sent["stream"] is True
    if not _is_anthropic(any_llm_model):
        assert sent["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("stream", [False, True])
def test_tool_call_is_parsed(any_llm_model, llm_server, stream):
    llm_server.script([{"tool_calls": [{"id": "call_1", "name": "lookup_order",
                                        "arguments": {"number": 42}}]}])
    result = providers.chat(any_llm_model, [ChatMessage("user", "order 42?")], tools=[LOOKUP],
                            on_token=(lambda t: None) if stream else None)
    assert result.finish_reason == "tool_calls"
    assert [(c.name, c.arguments, c.arguments_error) for c in result.tool_calls] == [
        ("lookup_order", {"number": 42}, "")]
    tools = llm_server.requests[-1]["json"]["tools"]
    if _is_anthropic(any_llm_model):
        assert tools == [{"name": "lookup_order", "description": LOOKUP.description,
                          "input_schema": LOOKUP.parameters}]
    else:
        assert tools == [{"type": "function", "function": {
            "name": "lookup_order", "description": LOOKUP.description,
            "parameters": LOOKUP.parameters}}]


@pytest.mark.parametrize("stream", [False, True])
def test_malformed_tool_arguments_give_an_empty_call_with_the_error(any_llm_model, llm_server,
                                                                   stream):
    llm_server.script([{"tool_calls": [{"name": "lookup_order", "arguments": '{"number": 4'}]}])
    result = providers.chat(any_llm_model, [ChatMessage("user", "order?")], tools=[LOOKUP],
                            on_token=(lambda t: None) if stream else None)
    [call] = result.tool_calls
    assert call.name == "lookup_order"
    assert call.arguments == {}
    assert "not valid JSON" in call.arguments_error


def test_tool_round_trip_is_sent_in_the_wire_format(any_llm_model, llm_server):
    messages = [ChatMessage("user", "order 42?"),
                ChatMessage("assistant", "", tool_calls=[
                    ToolCall(id="call_9", name="lookup_order", arguments={"number": 42})]),
                ChatMessage("tool", '{"status": "shipped"}', tool_call_id="call_9",
                            name="lookup_order")]
    result = providers.chat(any_llm_model, messages, tools=[LOOKUP])
    assert result.content == 'Fake LLM: the tool returned: {"status": "shipped"}'
    sent = llm_server.requests[-1]["json"]["messages"]
    if _is_anthropic(any_llm_model):
        assert sent[1] == {"role": "assistant", "content": [
            {"type": "tool_use", "id": "call_9", "name": "lookup_order",
             "input": {"number": 42}}]}
        assert sent[2] == {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "call_9",
             "content": '{"status": "shipped"}'}]}
    else:
        assert sent[1]["tool_calls"] == [{"id": "call_9", "type": "function", "function": {
            "name": "lookup_order", "arguments": json.dumps({"number": 42})}}]
        assert sent[2] == {"role": "tool", "tool_call_id": "call_9",
                           "content": '{"status": "shipped"}'}


def test_the_fake_calls_a_tool_when_asked_to(any_llm_model):
    result = providers.chat(any_llm_model,
                            [ChatMessage("user", 'please use tool lookup_order {"number": 7}')],
                            tools=[LOOKUP])
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("lookup_order", {"number": 7})]


def test_usage_absent_is_estimated_and_marked(any_llm_model, llm_server):
    llm_server.script([{"text": "no usage here", "no_usage": True}])
    result = providers.chat(any_llm_model, [ChatMessage("user", "x" * 300)])
    assert result.usage.reported is False
    assert result.usage.tokens_in >= 100  # 300 characters, at most 3 a token
    assert result.usage.tokens_out > 0


def test_response_format_asks_for_json(any_llm_model, llm_server):
    schema = {"type": "object", "properties": {"answer": {"type": "string"}},
              "required": ["answer"]}
    result = providers.chat(any_llm_model, [ChatMessage("user", "answer in JSON")],
                            response_format=schema)
    sent = llm_server.requests[-1]["json"]
    if _is_anthropic(any_llm_model):
        assert sent["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    else:
        assert sent["response_format"] == {"type": "json_schema", "json_schema": {
            "name": "output", "schema": schema}}
    assert json.loads(result.content) == {"answer": "fake"}


def test_embeddings_come_in_order_with_reported_tokens(make_llm_model, llm_server):
    model = make_llm_model(model_kind="embedding")
    llm_server.script([{"usage": {"input": 9}}])
    result = providers.embed(model, ["alpha", "beta", "gamma"])
    assert len(result.vectors) == 3 and all(len(v) == 16 for v in result.vectors)
    assert result.vectors[0] != result.vectors[1]
    assert (result.usage.tokens_in, result.usage.reported) == (9, True)
    assert llm_server.requests[-1]["json"]["input"] == ["alpha", "beta", "gamma"]


def test_anthropic_has_no_embeddings(anthropic_model, llm_server):
    with pytest.raises(providers.ProviderError) as caught:
        providers.embed(anthropic_model, ["alpha"])
    assert caught.value.code == "bad_request"
    assert llm_server.requests == []


def test_key_is_sent_from_the_vault(any_llm_model, llm_server):
    from tests.agents.conftest import TEST_API_KEY

    providers.chat(any_llm_model, [ChatMessage("user", "hi")])
    headers = llm_server.requests[-1]["headers"]
    # Anthropic SDKs send x-api-key (older) or a bearer token (2.x), OpenAI a bearer token.
    assert (headers.get("x-api-key") == TEST_API_KEY
            or headers.get("authorization") == f"Bearer {TEST_API_KEY}")


def test_estimate_tokens_is_an_upper_bound_of_the_text():
    messages = [ChatMessage("system", "a" * 90), ChatMessage("user", "b" * 90)]
    assert providers.estimate_tokens(messages) >= 60
    assert providers.estimate_tokens(messages, [LOOKUP]) > providers.estimate_tokens(messages)
