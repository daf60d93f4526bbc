"""What an agent's model may call: workflows (run through the workflow engine like any
other start), knowledge searches, and sub-agents it delegates to (depth-limited).

A tool never raises into the chat loop: its failure is a result the model reads (and
may recover from) and the loop records.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, router
from rest_framework.exceptions import APIException

from ..models import (
    Agent,
    AgentConfiguration,
    AgentHierarchy,
    AgentKnowledgeBase,
    AgentModel,
    AgentTool,
)
from ..providers.base import ToolCall, ToolSpec

DELEGATE_PREFIX = "delegate_"
#: What a tool's result may weigh in the conversation (the model's context is finite).
MAX_RESULT_CHARS = 20_000


@dataclass
class ToolContext:
    agent: Agent
    conversation: Any
    principal: Any
    depth: int
    execution: Any = None


@dataclass
class ToolOutcome:
    content: str
    ok: bool
    error: str = ""
    detail: dict | None = None


@dataclass
class Tool:
    spec: ToolSpec
    tool: AgentTool | None = None
    sub_agent: Agent | None = None


@dataclass(frozen=True)
class Links:
    """Which of a version's links exist, read in one query: most agents have none of
    them, and a turn then skips the four lookups that would each find nothing."""

    tools: bool = True
    knowledge: bool = True
    fallbacks: bool = True
    sub_agents: bool = True


def links(configuration: AgentConfiguration) -> Links:
    # Plain SQL: compiling the same four EXISTS through the ORM costs more than running
    # them (about 2 ms of a turn's budget of 15).
    with connections[router.db_for_read(AgentConfiguration)].cursor() as cursor:
        cursor.execute(_links_sql(), [configuration.pk] * 3 + [configuration.agent_id])
        return Links(*cursor.fetchone())


@functools.cache
def _links_sql() -> str:
    through = AgentConfiguration._meta.get_field("tools").remote_field.through._meta
    tools_field = through.get_field("agenttool")
    version_field = through.get_field("agentconfiguration")
    return (f"SELECT EXISTS (SELECT 1 FROM {AgentTool._meta.db_table} t "
            f"JOIN {through.db_table} l ON l.{tools_field.column} = t.id "
            f"WHERE l.{version_field.column} = %s AND t.enabled), "
            f"EXISTS (SELECT 1 FROM {AgentKnowledgeBase._meta.db_table} "
            "WHERE configuration_id = %s), "
            f"EXISTS (SELECT 1 FROM {AgentModel._meta.db_table} WHERE configuration_id = %s), "
            f"EXISTS (SELECT 1 FROM {AgentHierarchy._meta.db_table} WHERE supervisor_id = %s)")


def max_depth() -> int:
    return settings.AGENT_DELEGATION_MAX_DEPTH


def available(configuration, *, depth: int, links: Links | None = None) -> dict[str, Tool]:
    """The version's enabled tools and, below the depth limit, its agent's sub-agents
    (``links``: skip the lookups known to find nothing)."""
    links = links or Links()
    found: dict[str, Tool] = {}
    for tool in (configuration.tools.filter(enabled=True)
                 .select_related("workflow", "knowledge_base") if links.tools else ()):
        found[tool.name] = Tool(spec=ToolSpec(name=tool.name, description=tool.description,
                                              parameters=_parameters(tool)), tool=tool)
    if depth < max_depth() and links.sub_agents:
        links = (AgentHierarchy.objects.filter(supervisor_id=configuration.agent_id)
                 .select_related("sub_agent"))
        for link in links:
            sub = link.sub_agent
            name = f"{DELEGATE_PREFIX}{sub.pk}"
            found[name] = Tool(spec=ToolSpec(
                name=name,
                description=(link.description or sub.description
                             or f'Ask the agent "{sub.name}".')[:1000],
                parameters={"type": "object",
                            "properties": {"message": {"type": "string",
                                                       "description": "What to ask it."}},
                            "required": ["message"]}), sub_agent=sub)
    return found


def _parameters(tool: AgentTool) -> dict:
    if tool.input_schema:
        return tool.input_schema
    if tool.kind == AgentTool.Kind.KNOWLEDGE_SEARCH:
        return {"type": "object", "properties": {"query": {"type": "string"}},
                "required": ["query"]}
    schema = getattr(tool.workflow, "input_schema", None) or {}
    return schema if schema.get("type") == "object" else {"type": "object"}


def run(tools: dict[str, Tool], call: ToolCall, context: ToolContext) -> ToolOutcome:
    tool = tools.get(call.name)
    if tool is None:
        if call.name.startswith(DELEGATE_PREFIX):
            return _failed(f"Delegation is not available here (the limit is "
                           f"{max_depth()} levels deep).", code="depth_limit")
        return _failed(f"There is no tool named {call.name!r}.", code="unknown_tool")
    if call.arguments_error:
        return _failed(f"The arguments were not a JSON object: {call.arguments_error}",
                       code="bad_arguments")
    try:
        if tool.sub_agent is not None:
            return _delegate(tool.sub_agent, call.arguments, context)
        if tool.tool.kind == AgentTool.Kind.KNOWLEDGE_SEARCH:
            return _search(tool.tool, call.arguments)
        return _workflow(tool.tool, call.arguments, context)
    except APIException as error:
        return _failed(str(getattr(error, "message", None) or error.detail),
                       code=getattr(error, "error_code", "refused"))
    except ValidationError as error:
        return _failed("; ".join(_messages(error)), code="invalid_input")


def _messages(error: ValidationError) -> list[str]:
    if hasattr(error, "message_dict"):
        return [f"{k}: {m}" for k, ms in error.message_dict.items() for m in ms]
    return list(error.messages)


def _failed(message: str, *, code: str) -> ToolOutcome:
    return ToolOutcome(content=json.dumps({"error": message, "code": code}), ok=False,
                       error=message, detail={"code": code})


def _ok(value: Any, **detail) -> ToolOutcome:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) > MAX_RESULT_CHARS:
        text = text[:MAX_RESULT_CHARS] + "… [truncated]"
    return ToolOutcome(content=text, ok=True, detail=detail or None)


def _workflow(tool: AgentTool, arguments: dict, context: ToolContext) -> ToolOutcome:
    from workflows.engine import data
    from workflows.models import Execution
    from workflows.services.executions import execution_start, execution_wait

    user = getattr(context.principal, "user", None)
    execution = execution_start(workflow=tool.workflow, input=arguments, source="agent",
                                by=user)
    execution = execution_wait(execution, tool.timeout)
    if execution.status == Execution.Status.SUCCEEDED:
        return _ok(data.load(execution, "output", "output_file"), execution=execution.pk)
    if execution.status not in Execution.FINISHED:
        return _failed(f"The workflow did not finish within {tool.timeout} s "
                       f"(execution {execution.pk} goes on).", code="tool_timeout")
    return _failed(f"The workflow ended {execution.status}: {execution.error or 'no detail'}",
                   code="workflow_failed")


def _search(tool: AgentTool, arguments: dict) -> ToolOutcome:
    from ..knowledge.search import search  # HC's module; imported late on purpose

    query = arguments.get("query")
    if not isinstance(query, str) or not query.strip():
        return _failed("Give a non-empty \"query\" string.", code="bad_arguments")
    from .knowledge import MAX_K

    k = arguments.get("k", 5)
    # The model chooses k: a huge one would lift search's candidate bound.
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        return _failed(f"\"k\" must be a whole number from 1 to {MAX_K}.",
                       code="bad_arguments")
    hits = search(tool.knowledge_base, query, k=k)
    return _ok([{"document": h.document_title, "position": h.position, "text": h.text,
                 "score": round(h.score, 4)} for h in hits])


def _delegate(sub_agent: Agent, arguments: dict, context: ToolContext) -> ToolOutcome:
    from .chat import run_turn

    message = arguments.get("message")
    if not isinstance(message, str) or not message.strip():
        return _failed("Give a non-empty \"message\" string.", code="bad_arguments")
    if context.depth + 1 > max_depth():
        return _failed(f"Delegation is limited to {max_depth()} levels.", code="depth_limit")
    # The supervisor's edge to this sub-agent was set by someone who may edit it: the
    # sub-agent answers as the system, not as the person chatting with the supervisor.
    result = run_turn(agent=sub_agent, text=message, principal=None, channel="delegation",
                      depth=context.depth + 1, parent=context.conversation,
                      execution=context.execution)
    return _ok(result.reply.content, conversation=result.conversation.pk)
