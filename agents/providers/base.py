"""What every provider adapter speaks: messages, tools, results and errors, independent
of the wire format (OpenAI Chat Completions or Anthropic Messages)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ToolSpec:
    """A function the model may call; ``parameters`` is a JSON Schema object."""

    name: str
    description: str
    parameters: dict


@dataclass
class ToolCall:
    id: str
    name: str
    #: The parsed arguments; ``{}`` with ``arguments_error`` set when the model sent
    #: arguments that are not a JSON object.
    arguments: dict
    arguments_error: str = ""


@dataclass
class ChatMessage:
    role: str  # "system" | "user" | "assistant" | "tool"
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    #: A tool message: the call it answers, and the tool's name.
    tool_call_id: str = ""
    name: str = ""


@dataclass
class Usage:
    """Tokens as the provider reported them.  ``tokens_in`` counts every input token,
    cached ones included (``cached_tokens`` is the part served from the prompt cache).
    ``reported`` is False only when the provider sent no usage at all and the counts
    are an estimate (never the case for a provider that reports them)."""

    tokens_in: int = 0
    tokens_out: int = 0
    cached_tokens: int = 0
    reported: bool = True


@dataclass
class ChatResult:
    content: str
    tool_calls: list[ToolCall]
    #: Normalised: "stop", "length", "tool_calls", "content_filter" (else as sent).
    finish_reason: str
    usage: Usage
    model_name: str
    request_id: str = ""
    latency_ms: int = 0


@dataclass
class EmbeddingResult:
    vectors: list[list[float]]
    usage: Usage
    model_name: str
    request_id: str = ""
    latency_ms: int = 0


class ProviderError(Exception):
    """A call that failed after its retries, with a message safe to show and store
    (never the API key).  ``code``: rate_limited, timeout, server_error, bad_response,
    auth, refused (the outbound guard), bad_request, unavailable."""

    def __init__(self, message: str, *, code: str, status: int | None = None,
                 retryable: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
