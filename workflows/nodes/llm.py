"""The LLM node: ask an agent (its live version, tools and knowledge included) or call a
model directly with a templated prompt; optionally hold the answer to a JSON Schema.

Both modes go through the agents app's one door (``agents.services.chat.run_turn`` and
``agents.services.calls.call_model``), so quotas hold, every provider call is recorded
as a usage row tied to this execution and node, and the cost is the price in effect at
the call.  The output carries the text (and the parsed JSON), the tokens and the cost,
so the span shows what the node spent.

Failures: quota exhausted, an agent that is not ready, a model or agent of another
workspace and bad config fail for good; provider errors and timeouts are retried by the
workflow's retry policy, and so is an answer that does not match the schema (a model
often gets it right the second time).  Secret values used in the prompt never come back
in the output or the error.
"""

from __future__ import annotations

import json
from decimal import Decimal

from jsonschema import Draft202012Validator

from . import registry
from .base import NodeContext, NodeError, NodeResult, NodeType
from .common import checked_config, in_workspace

_AGENT_ONLY = ("agent", "message")
_MODEL_ONLY = ("model", "prompt", "system", "temperature", "max_tokens")
#: API errors worth another attempt (the provider's trouble, not the setup's).
_RETRYABLE_CODES = {"provider_error", "provider_timeout"}
#: How much of a non-matching answer the error quotes.
ERROR_TEXT_CHARS = 200


def _excluding(keys) -> dict:
    """No ``keys`` (the other mode's settings); each one found is named by its path."""
    return {"properties": {key: {"not": {}} for key in keys}}


@registry.register
class LLMNode(NodeType):
    key = "llm"
    name = "LLM"
    category = "ai"
    description = ("Asks an agent of this workspace (with its tools and knowledge) or calls "
                   "a model with a prompt; outputs the answer (text, and JSON checked "
                   "against a schema when given), the tokens used and the cost.")
    side_effects = True
    default_timeout = 300
    config_schema = {
        "type": "object",
        "properties": {
            "agent": {"type": "integer", "minimum": 1,
                      "description": "Agent mode: the id of the agent to ask."},
            "message": {"type": "string", "minLength": 1, "maxLength": 100_000,
                        "description": "Agent mode: what the agent is sent (a template)."},
            "model": {"type": "integer", "minimum": 1,
                      "description": "Model mode: the id of the chat model to call."},
            "prompt": {"type": "string", "minLength": 1, "maxLength": 100_000,
                       "description": "Model mode: the user prompt (a template)."},
            "system": {"type": "string", "maxLength": 100_000,
                       "description": "Model mode: the system prompt."},
            "temperature": {"type": "number", "minimum": 0, "maximum": 2},
            "max_tokens": {"type": "integer", "minimum": 1, "maximum": 200_000},
            "json_schema": {"type": "object",
                            "description": "A JSON Schema the answer must satisfy: the "
                                           "output's json is the parsed answer."},
        },
        "additionalProperties": False,
        # One mode: an agent and its message, or a model and its prompt (with the
        # model's settings).  Written so each error names the key at fault.
        "if": {"not": {"required": ["agent"]}},
        "then": {"required": ["model", "prompt"]},
        "dependentRequired": {"agent": ["message"], "model": ["prompt"]},
        "dependentSchemas": {"agent": _excluding(_MODEL_ONLY),
                             "model": _excluding(_AGENT_ONLY)},
    }

    def run(self, context: NodeContext) -> NodeResult:
        from ..expressions import redact  # late: expressions imports this package

        secrets = context.secret_values
        try:
            config = checked_config(self, context.config)
            schema = config.get("json_schema")
            if schema is not None:
                problems = list(Draft202012Validator(Draft202012Validator.META_SCHEMA)
                                .iter_errors(schema))
                if problems:
                    raise NodeError(f"json_schema: not a valid JSON Schema "
                                    f"({problems[0].message}).", retryable=False)
            output = self._agent(config, context) if "agent" in config \
                else self._model(config, context)
            if schema is not None:
                output["json"] = _matching(output.get("json", _NOT_PARSED), output["text"],
                                           schema)
            return NodeResult(output=redact(output, secrets))
        except NodeError as exc:
            raise NodeError(redact(str(exc), secrets), retryable=exc.retryable) from None

    @staticmethod
    def _execution(context: NodeContext):
        from ..models import Execution

        return Execution.objects.select_related("workflow").get(pk=context.execution_id)

    def _agent(self, config: dict, context: NodeContext) -> dict:
        from agents.models import Agent
        from agents.services import chat

        agent = in_workspace(Agent.objects.select_related("live_configuration"),
                             config["agent"], context, field="agent", label="agent")
        execution = self._execution(context)
        result = _calling(lambda: chat.run_turn(
            agent=agent, text=config["message"], principal=None, channel="workflow",
            execution=execution, node_key=context.node_key))
        reply = result.reply
        output = {"text": reply.content, "agent": agent.pk,
                  "conversation": result.conversation.pk, "message": reply.pk,
                  "usage": {"tokens_in": result.tokens_in, "tokens_out": result.tokens_out,
                            "calls": sum(1 for m in result.messages if m.model_id)},
                  "cost": _money(result.cost), "currency": reply.currency or "USD"}
        if isinstance(result.output, dict | list):
            output["json"] = result.output
        return output

    def _model(self, config: dict, context: NodeContext) -> dict:
        from agents.models import LLMModel
        from agents.providers.base import ChatMessage
        from agents.services import calls

        model = in_workspace(LLMModel.objects.select_related("provider"), config["model"],
                             context, field="model", label="model")
        if model.kind != LLMModel.Kind.CHAT:
            raise NodeError(f"model: {model} makes embeddings; pick a chat model.",
                            retryable=False)
        execution = self._execution(context)
        messages = ([ChatMessage(role="system", content=config["system"])]
                    if config.get("system") else [])
        messages.append(ChatMessage(role="user", content=config["prompt"]))
        result, row = _calling(lambda: calls.call_model(
            model=model, messages=messages, source="workflow",
            workspace_id=context.workspace_id, workflow=execution.workflow,
            execution=execution, node_key=context.node_key,
            temperature=config.get("temperature"), max_tokens=config.get("max_tokens"),
            response_format=config.get("json_schema")))
        return {"text": result.content, "model": model.pk, "model_name": result.model_name,
                "finish_reason": result.finish_reason,
                "usage": {"tokens_in": row.tokens_in, "tokens_out": row.tokens_out,
                          "cached_tokens": row.cached_tokens, "calls": 1},
                "cost": _money(row.cost), "currency": row.currency, "usage_log": row.pk}


_NOT_PARSED = object()


def _calling(call):
    """``call()`` with the agents app's errors as node errors (retryable when another
    attempt may succeed)."""
    from agents.providers.base import ProviderError
    from core.api.errors import ApiError

    try:
        return call()
    except ProviderError as exc:
        raise NodeError(f"The model call failed: {exc.message}",
                        retryable=exc.retryable or exc.code in ("timeout", "server_error",
                                                                "rate_limited")) from None
    except ApiError as exc:
        raise NodeError(exc.message, retryable=exc.error_code in _RETRYABLE_CODES) from None


def _matching(parsed, text: str, schema: dict):
    """The answer as JSON satisfying ``schema``, or a NodeError saying why not."""
    if parsed is _NOT_PARSED:
        try:
            parsed = json.loads(_unfenced(text))
        except ValueError:
            raise NodeError(f"The answer is not JSON: {text[:ERROR_TEXT_CHARS]!r}",
                            retryable=True) from None
    errors = sorted(Draft202012Validator(schema).iter_errors(parsed),
                    key=lambda e: list(e.path))
    if errors:
        where = ".".join(str(p) for p in errors[0].path) or "answer"
        raise NodeError(f"The answer does not match json_schema: {where}: "
                        f"{errors[0].message}", retryable=True)
    return parsed


def _unfenced(text: str) -> str:
    """Models often wrap JSON in a ```json fence even when asked not to."""
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```"):
        stripped = stripped[3:-3]
        if stripped.startswith("json"):
            stripped = stripped[4:]
    return stripped.strip()


def _money(value) -> str:
    return str(Decimal(value or 0).quantize(Decimal("0.00000001")))
