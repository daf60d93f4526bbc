"""One chat turn: the bounded tool-calling loop every door uses (API, admin test chat,
triggers, the workflow LLM node, delegation).

No transaction spans the turn: provider calls are slow, and each message is committed
as it happens so a failure midway leaves the conversation as far as it got, with the
error recorded on it.  What the platform adds to a turn is kept to a few statements
(``make bench`` measures it): a new conversation is written with its first message, the
version's links are read once, and message sequence numbers are counted in memory after
one read (the unique constraint catches a concurrent turn, which then re-reads).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Max
from django.utils import timezone
from jsonschema import Draft202012Validator

from billing.entitlements import LimitReached
from core import events, tenancy
from core.api.errors import ApiError

from .. import queries
from ..events import CONVERSATION_REPLIED
from ..models import (
    Agent,
    AgentConfiguration,
    AgentErrorLog,
    Conversation,
    LLMUsageLog,
    Message,
)
from ..providers.base import ChatMessage, ProviderError, ToolCall
from . import calls, tools
from .quotas import QuotaExhausted

#: Messages of earlier turns sent back to the model (the newest ones).
HISTORY_LIMIT = 50
#: Provider failures worth trying the next fallback model for.
RETRYABLE = {"rate_limited", "timeout", "server_error", "unavailable", "bad_response"}


@dataclass
class TurnResult:
    conversation: Conversation
    reply: Message
    messages: list[Message] = field(default_factory=list)
    output: Any = None  # the parsed JSON with a response format, else the text

    @property
    def tokens_in(self) -> int:
        return sum(m.tokens_in for m in self.messages)

    @property
    def tokens_out(self) -> int:
        return sum(m.tokens_out for m in self.messages)

    @property
    def cost(self):
        return sum((m.cost for m in self.messages), start=0)


@dataclass
class _Turn:
    agent: Agent
    configuration: AgentConfiguration
    conversation: Conversation
    principal: Any
    channel: str
    depth: int
    execution: Any
    node_key: str
    on_token: Callable[[str], None] | None
    on_event: Callable[[str, dict], None] | None
    links: tools.Links = field(default_factory=tools.Links)
    recorded: list[Message] = field(default_factory=list)
    #: The next message's sequence number; None: read it (under the conversation's lock).
    next_sequence: int | None = None

    def emit(self, name: str, data: dict) -> None:
        if self.on_event is not None:
            self.on_event(name, data)


def run_turn(*, agent: Agent, text: str, principal: tenancy.Principal | None,
             conversation: Conversation | None = None, channel: str = "api",
             on_token: Callable[[str], None] | None = None,
             configuration: AgentConfiguration | None = None, depth: int = 0,
             parent: Conversation | None = None, execution=None, node_key: str = "",
             variables: dict | None = None,
             on_event: Callable[[str, dict], None] | None = None) -> TurnResult:
    """Answer ``text`` as ``agent``.  Raises ApiError: 403 agent_access_denied,
    404 conversation, 409 agent_not_ready, 422 delegation_depth / step_limit /
    invalid_output, 429 quota_exhausted, 502 provider_error, 504 provider_timeout."""
    if principal is not None and not queries.can_use(principal, agent):
        raise ApiError(403, "agent_access_denied",
                       f'You may not chat with the agent "{agent}": ask an admin for access.')
    if depth > tools.max_depth():
        raise ApiError(422, "delegation_depth",
                       f"Delegation is limited to {tools.max_depth()} levels.")
    configuration = configuration or agent.live_configuration
    if configuration is None or configuration.agent_id != agent.pk:
        raise ApiError(409, "agent_not_ready",
                       f'The agent "{agent}" has no published version: publish one first.')
    if agent.status != Agent.Status.ACTIVE and channel != Conversation.Channel.ADMIN:
        raise ApiError(409, "agent_not_ready",
                       f'The agent "{agent}" is {agent.get_status_display().lower()}: only '
                       "active agents chat.")
    if conversation is not None and conversation.agent_id != agent.pk:
        raise ApiError(404, "not_found", "No conversation with this agent matches that id.")
    user = getattr(principal, "user", None) if principal is not None else None
    turn = _Turn(agent=agent, configuration=configuration, conversation=conversation,
                 principal=principal, channel=channel, depth=depth, execution=execution,
                 node_key=node_key, on_token=on_token, on_event=on_event,
                 links=tools.links(configuration))
    if conversation is None:
        history = []
        conversation = turn.conversation = _start(turn, user=user, parent=parent, text=text)
    else:
        history = _history(conversation)
        _record(turn, role=Message.Role.USER, content=text)
    messages = [ChatMessage(role="system",
                            content=_system(configuration, text, variables, turn.links)),
                *history, ChatMessage(role="user", content=text)]
    reply, output = _loop(turn, messages)
    events.emit(CONVERSATION_REPLIED, {
        "agent": agent.pk, "conversation": conversation.pk, "message": reply.pk,
        "channel": channel, "tokens_in": sum(m.tokens_in for m in turn.recorded),
        "tokens_out": sum(m.tokens_out for m in turn.recorded),
        "cost": str(sum((m.cost for m in turn.recorded), start=0))},
        workspace_id=agent.workspace_id)
    return TurnResult(conversation=conversation, reply=reply, messages=turn.recorded,
                      output=output)


def _start(turn: _Turn, *, user, parent, text: str) -> Conversation:
    """A new conversation and its first message, in one transaction: nobody else can
    write to it yet, so the message is number 1."""
    agent, now = turn.agent, timezone.now()
    with transaction.atomic():
        conversation = Conversation.objects.create(
            workspace_id=agent.workspace_id, agent=agent, user=user, channel=turn.channel,
            parent=parent, title=" ".join(text.split())[:200], last_message_at=now)
        message = Message.objects.create(workspace_id=agent.workspace_id,
                                         conversation=conversation, sequence=1,
                                         role=Message.Role.USER, content=text)
    turn.recorded.append(message)
    turn.next_sequence = 2
    return conversation


def _system(configuration: AgentConfiguration, text: str, variables: dict | None,
            links: tools.Links) -> str:
    prompt = configuration.system_prompt or ""
    for name, value in (variables or {}).items():
        for placeholder in ("{{ " + name + " }}", "{{" + name + "}}"):
            prompt = prompt.replace(placeholder, str(value))
    context = _knowledge(configuration, text) if links.knowledge else ""
    if context:
        prompt += ("\n\nUse these passages from the knowledge base when they help; say "
                   "when they do not answer the question.\n" + context)
    if configuration.response_format:
        prompt += ("\n\nAnswer with JSON only, matching this JSON Schema:\n"
                   + json.dumps(configuration.response_format))
    return prompt


def _knowledge(configuration: AgentConfiguration, text: str) -> str:
    links = list(configuration.knowledge.select_related("knowledge_base"))
    if not links:
        return ""
    from ..knowledge.search import search  # HC's module; imported late on purpose

    parts = []
    for link in links:
        for hit in search(link.knowledge_base, text, k=link.top_k):
            parts.append(f"[{len(parts) + 1}] {hit.document_title}: {hit.text}")
    return "\n".join(parts)


def _history(conversation: Conversation) -> list[ChatMessage]:
    rows = list(Message.objects.filter(conversation=conversation)
                .exclude(finish_reason="error").order_by("-sequence")[:HISTORY_LIMIT])
    rows.reverse()
    # A tool message whose call fell outside the window would be refused by providers.
    while rows and rows[0].role == Message.Role.TOOL:
        rows.pop(0)
    return [_as_chat(m) for m in rows if m.role != Message.Role.SYSTEM]


def _as_chat(message: Message) -> ChatMessage:
    return ChatMessage(
        role=message.role, content=message.content, tool_call_id=message.tool_call_id,
        name=message.tool_name,
        tool_calls=[ToolCall(id=c.get("id", ""), name=c.get("name", ""),
                             arguments=c.get("arguments") or {})
                    for c in message.tool_calls or []])


def _loop(turn: _Turn, messages: list[ChatMessage]):
    configuration = turn.configuration
    available = tools.available(configuration, depth=turn.depth, links=turn.links)
    specs = [t.spec for t in available.values()]
    models = _models(configuration, turn.links)
    schema = configuration.response_format
    repaired = False
    for _step in range(configuration.max_steps):
        result, log = _call(turn, models, messages, specs)
        output, problem = (result.content, None)
        if schema and not result.tool_calls:
            output, problem = _parse(result.content, schema)
        done = not result.tool_calls and problem is None
        reply = _record(turn, role=Message.Role.ASSISTANT, content=result.content,
                        tool_calls=[{"id": c.id, "name": c.name, "arguments": c.arguments}
                                    for c in result.tool_calls],
                        model=log.model, tokens_in=log.tokens_in, tokens_out=log.tokens_out,
                        cost=log.cost, currency=log.currency, latency_ms=log.latency_ms,
                        finish_reason=result.finish_reason,
                        _usage_log=log, _answered=done)
        messages.append(ChatMessage(role="assistant", content=result.content,
                                    tool_calls=result.tool_calls))
        if result.tool_calls:
            _run_tools(turn, available, result.tool_calls, messages)
            continue
        if done:
            return reply, output
        if repaired:
            _fail(turn, AgentErrorLog.Kind.OUTPUT, f"The answer does not match the response "
                  f"format: {problem}", 422, "invalid_output", {"problem": problem})
        repaired = True
        messages.append(ChatMessage(role="user", content=(
            f"Your answer does not match the required JSON Schema ({problem}). "
            "Answer again with only the JSON.")))
    _fail(turn, AgentErrorLog.Kind.LIMIT,
          f"The agent did not finish within {configuration.max_steps} model calls.",
          422, "step_limit", {"max_steps": configuration.max_steps})


def _models(configuration: AgentConfiguration, links: tools.Links) -> list:
    """The version's model, then its fallbacks in order."""
    if not links.fallbacks:
        return [configuration.model]
    return [configuration.model, *(f.model for f in configuration.fallbacks
                                   .select_related("model__provider").order_by("position"))]


def _call(turn: _Turn, models: list, messages, specs):
    """The version's model, then its fallbacks in order while failures are retryable."""
    configuration = turn.configuration
    failures = []
    for index, model in enumerate(models):
        try:
            return calls.call_model(
                model=model, messages=messages, source="chat",
                workspace_id=turn.agent.workspace_id, agent=turn.agent,
                conversation=turn.conversation, execution=turn.execution,
                workflow=getattr(turn.execution, "workflow", None), node_key=turn.node_key,
                user=getattr(turn.principal, "user", None), tools=specs,
                temperature=float(configuration.temperature),
                max_tokens=configuration.max_tokens,
                response_format=configuration.response_format, on_token=turn.on_token)
        except (QuotaExhausted, LimitReached) as error:  # a quota, or the plan's tokens
            _fail(turn, AgentErrorLog.Kind.QUOTA, error.message, error.status_code,
                  error.error_code, error.errors, headers=error.headers)
        except ProviderError as error:
            failures.append({"model": model.name, "code": error.code, "message": error.message})
            if error.code in RETRYABLE and index + 1 < len(models):
                continue
            timeout = error.code == "timeout"
            _fail(turn, AgentErrorLog.Kind.PROVIDER,
                  f"The model provider failed: {error.message}",
                  504 if timeout else 502, "provider_timeout" if timeout else "provider_error",
                  {"provider_code": error.code, "attempts": failures},
                  headers={"Retry-After": str(int(error.retry_after))}
                  if error.retry_after else None)


def _run_tools(turn: _Turn, available, tool_calls, messages) -> None:
    context = tools.ToolContext(agent=turn.agent, conversation=turn.conversation,
                                principal=turn.principal, depth=turn.depth,
                                execution=turn.execution)
    for call in tool_calls:
        turn.emit("tool_call", {"id": call.id, "name": call.name, "arguments": call.arguments})
        outcome = tools.run(available, call, context)
        if not outcome.ok:
            AgentErrorLog.objects.create(
                workspace_id=turn.agent.workspace_id, agent=turn.agent,
                conversation=turn.conversation, kind=AgentErrorLog.Kind.TOOL,
                message=f"Tool {call.name}: {outcome.error}"[:2000],
                detail={"tool": call.name, **(outcome.detail or {})})
        _record(turn, role=Message.Role.TOOL, content=outcome.content,
                tool_call_id=call.id[:120], tool_name=call.name[:64],
                error="" if outcome.ok else outcome.error)
        turn.emit("tool_result", {"id": call.id, "name": call.name, "ok": outcome.ok,
                                  "content": outcome.content})
        messages.append(ChatMessage(role="tool", content=outcome.content,
                                    tool_call_id=call.id, name=call.name))


def _parse(content: str, schema: dict):
    text = content.strip()
    if text.startswith("```"):  # models like to fence JSON even when told not to
        text = text.strip("`").removeprefix("json").strip()
    try:
        value = json.loads(text)
    except ValueError as error:
        return None, f"not JSON ({error.msg})"
    problems = sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.path))
    if problems:
        first = problems[0]
        where = ".".join(str(p) for p in first.path) or "answer"
        return None, f"{where}: {first.message}"
    return value, None


def _fail(turn: _Turn, kind: str, message: str, status: int, code: str, detail: dict,
          headers: dict | None = None):
    """Record the failure on the conversation and in the error log, then refuse."""
    _record(turn, role=Message.Role.ASSISTANT, content="", finish_reason="error",
            error=message)
    AgentErrorLog.objects.create(workspace_id=turn.agent.workspace_id, agent=turn.agent,
                                 conversation=turn.conversation, kind=kind,
                                 message=message[:2000], detail={"code": code, **detail})
    raise ApiError(status, code, message,
                   errors={**detail, "conversation": turn.conversation.pk},
                   headers=headers or {})


def _record(turn: _Turn, *, _usage_log: LLMUsageLog | None = None, _answered: bool = False,
            **fields) -> Message:
    """A message with the next sequence number; the conversation's totals move with it.
    ``_usage_log``: the call's usage row, linked to the message (per-answer cost);
    ``_answered``: the turn's answer, which marks the version that gave it."""
    conversation = turn.conversation
    for attempt in range(3):
        try:
            with transaction.atomic():
                if turn.next_sequence is None:
                    # The conversation's row lock orders sequence numbers of concurrent
                    # turns; after this read the turn counts on in memory.
                    Conversation.objects.select_for_update().filter(pk=conversation.pk).first()
                    turn.next_sequence = 1 + (Message.objects.filter(conversation=conversation)
                                              .aggregate(n=Max("sequence"))["n"] or 0)
                message = Message.objects.create(
                    workspace_id=conversation.workspace_id, conversation=conversation,
                    sequence=turn.next_sequence, **fields)
                _move_totals(turn, message, answered=_answered)
                if _usage_log is not None:
                    _link_usage(_usage_log, message)
        except IntegrityError as error:
            # Another turn on this conversation took the number: read it again, locked.
            if attempt == 2 or "agents_message_unique_sequence" not in str(error):
                raise
            turn.next_sequence = None
            continue
        break
    turn.next_sequence += 1
    turn.recorded.append(message)
    return message


# Plain SQL for the two statements every answer runs: compiling them through the ORM
# cost more than running them.  The totals come back from the same statement, so the
# turn's conversation is current without reading it again.


def _move_totals(turn: _Turn, message: Message, *, answered: bool) -> None:
    conversation = turn.conversation
    table = Conversation._meta.db_table
    now = timezone.now()
    marks, params = "", [message.tokens_in, message.tokens_out, message.cost, now]
    if answered:
        marks, params = ", configuration_id = %s", [*params, turn.configuration.pk]
    with connections[router.db_for_write(Conversation)].cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET tokens_in = tokens_in + %s, tokens_out = tokens_out + %s, "
            f"cost = cost + %s, last_message_at = %s{marks} WHERE id = %s "
            "RETURNING tokens_in, tokens_out, cost", [*params, conversation.pk])
        row = cursor.fetchone()
    if row is not None:
        conversation.tokens_in, conversation.tokens_out, conversation.cost = row
        conversation.last_message_at = now
        if answered:
            conversation.configuration = turn.configuration


def _link_usage(log: LLMUsageLog, message: Message) -> None:
    """The usage row is written before its message exists; link them for per-answer cost."""
    with connections[router.db_for_write(LLMUsageLog)].cursor() as cursor:
        cursor.execute(f"UPDATE {LLMUsageLog._meta.db_table} SET message_id = %s WHERE id = %s",
                       [message.pk, log.pk])
    log.message = message
