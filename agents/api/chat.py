"""POST /api/v1/agents/{id}/chat/: one chat turn, answered as JSON or streamed as
server-sent events.  The rules (access, quotas, the tool loop, recording) are
agents.services.chat.run_turn's; this view reads the body, finds the agent as the
caller may see it, and shapes the answer."""

from __future__ import annotations

import json
import logging
import queue
import threading

from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections, connection
from django.http import StreamingHttpResponse
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core import tenancy
from core.api.errors import ApiError, error_body
from core.api.permissions import TenantPermission
from core.api.schema import ErrorSerializer

from .. import queries
from ..models import Agent, Conversation, Message
from ..services.chat import run_turn

log = logging.getLogger(__name__)

#: How long a streaming response waits for the next event before a keep-alive comment.
KEEPALIVE_SECONDS = 15


class AgentChatSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=32_000, trim_whitespace=False,
                                    help_text="What the user says.")
    conversation = serializers.IntegerField(
        required=False, allow_null=True, min_value=1,
        help_text="Continue this conversation (blank: start a new one).")
    stream = serializers.BooleanField(
        default=False, help_text="Answer as text/event-stream: token, tool_call, "
                                 "tool_result, then done (or error).")

    def validate_message(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("Say something: the message is blank.")
        return value


class AgentChatMessageSerializer(serializers.ModelSerializer):
    # Plain text: the role's enum is the messages API's (one enum name in the schema).
    role = serializers.CharField(read_only=True, help_text="user, assistant or tool.")

    class Meta:
        model = Message
        fields = ("id", "sequence", "role", "content", "tool_calls", "tool_call_id",
                  "tool_name", "model", "tokens_in", "tokens_out", "cost", "currency",
                  "latency_ms", "finish_reason", "error", "created_at")
        # Output only: no bounds from the database in use leak into the schema.
        read_only_fields = fields


class AgentChatUsageSerializer(serializers.Serializer):
    tokens_in = serializers.IntegerField()
    tokens_out = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=16, decimal_places=8)
    currency = serializers.CharField()


class AgentChatResponseSerializer(serializers.Serializer):
    conversation = serializers.IntegerField()
    reply = AgentChatMessageSerializer()
    messages = AgentChatMessageSerializer(many=True, help_text="Every message of this turn.")
    output = serializers.JSONField(help_text="The parsed JSON when the agent has a "
                                             "response format, else the reply's text.")
    usage = AgentChatUsageSerializer()


def turn_body(result) -> dict:
    messages = result.messages
    currency = next((m.currency for m in messages if m.currency), "USD")
    return {"conversation": result.conversation.pk,
            "reply": AgentChatMessageSerializer(result.reply).data,
            "messages": AgentChatMessageSerializer(messages, many=True).data,
            "output": result.output,
            "usage": {"tokens_in": result.tokens_in, "tokens_out": result.tokens_out,
                      "cost": str(result.cost), "currency": currency}}


def _sse(event: str, data) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, cls=DjangoJSONEncoder)}\n\n".encode()


class AgentChatView(APIView):
    permission_classes = [TenantPermission]
    #: The rows ``{pk}`` names (scoped per request below).
    queryset = Agent.objects.all()

    @extend_schema(
        operation_id="agents_chat",
        tags=["agents"],
        summary="Chat with an agent (one turn)",
        description=(
            "Runs one turn: the agent's model is called with its tools until it answers "
            "(bounded by the version's max_steps). Every message, its tokens and cost are "
            "recorded. With `stream: true` the answer is `text/event-stream` with events "
            "`token` ({\"text\"}), `tool_call`, `tool_result`, then `done` (the JSON answer) "
            "or `error` (the error body)."),
        request=AgentChatSerializer,
        responses={
            200: AgentChatResponseSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Invalid body."),
            403: OpenApiResponse(ErrorSerializer, description="agent_access_denied: the "
                                 "agent is restricted or the role may not use it."),
            404: OpenApiResponse(ErrorSerializer, description="No such agent or "
                                 "conversation in the caller's workspaces."),
            409: OpenApiResponse(ErrorSerializer, description="agent_not_ready: inactive "
                                 "or unpublished."),
            422: OpenApiResponse(ErrorSerializer, description="step_limit, invalid_output "
                                 "or delegation_depth."),
            429: OpenApiResponse(ErrorSerializer, description="quota_exhausted: names the "
                                 "quota and when it resets (Retry-After)."),
            502: OpenApiResponse(ErrorSerializer, description="provider_error: the model "
                                 "provider failed (rate limit, server error, bad reply)."),
            504: OpenApiResponse(ErrorSerializer, description="provider_timeout."),
        },
    )
    def post(self, request, pk: int):
        principal = tenancy.principal_for(request)
        agent = (tenancy.visible(self.queryset.all(), principal).filter(pk=pk)
                 .select_related("live_configuration__model").first())
        if agent is None:
            raise ApiError(404, "not_found", "No agent matches that id.")
        body = AgentChatSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        conversation = None
        if body.validated_data.get("conversation"):
            conversation = (tenancy.visible(Conversation.objects.all(), principal)
                            .filter(pk=body.validated_data["conversation"], agent=agent)
                            .first())
            if conversation is None:
                raise ApiError(404, "not_found", "No conversation with this agent matches "
                                                 "that id.",
                               errors={"conversation": ["Unknown conversation."]})
        if not queries.can_use(principal, agent):  # said before any stream starts
            raise ApiError(403, "agent_access_denied",
                           f'You may not chat with the agent "{agent}": ask an admin for '
                           "access.")
        kwargs = {"agent": agent, "text": body.validated_data["message"],
                  "principal": principal, "conversation": conversation, "channel": "api"}
        if body.validated_data["stream"]:
            return self._stream(request, kwargs)
        return Response(turn_body(run_turn(**kwargs)))

    def _stream(self, request, kwargs) -> StreamingHttpResponse:
        events: queue.Queue = queue.Queue()
        done = object()

        def work():
            try:
                result = run_turn(**kwargs, on_token=lambda text: events.put(("token",
                                                                              {"text": text})),
                                  on_event=lambda name, data: events.put((name, data)))
                events.put(("done", turn_body(result)))
            except ApiError as error:
                events.put(("error", error_body(error.status_code, error.message,
                                                code=error.error_code, errors=error.errors,
                                                request=request)))
            except Exception:
                log.exception("Streaming chat turn failed")
                events.put(("error", error_body(500, "The chat turn failed unexpectedly.",
                                                code="internal_error", request=request)))
            finally:
                events.put((done, None))
                connection.close()  # this thread's own connection

        def stream():
            thread = threading.Thread(target=work, name="agent-chat-stream", daemon=True)
            thread.start()
            while True:
                try:
                    name, data = events.get(timeout=KEEPALIVE_SECONDS)
                except queue.Empty:
                    yield b": keep-alive\n\n"
                    continue
                if name is done:
                    break
                yield _sse(name, data)
            thread.join()
            close_old_connections()

        response = StreamingHttpResponse(stream(), content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # nginx would hold tokens back otherwise
        return response


urlpatterns = [
    path("agents/<int:pk>/chat/", AgentChatView.as_view(), name="agent-chat"),
]
