"""The prompt playground: render a template with variables, send it to one model or to
two side by side, and show what each answered with its tokens and cost.

* Templates are Jinja2 in the same sandbox as workflow expressions
  (``workflows.expressions.render_value``): unknown variables are errors, not blanks.
* Every call goes through ``calls.call_model(source="playground")``, so quotas hold and
  each call is one LLMUsageLog row (failed ones too), like any other call.
* Running a model spends money: it needs the role that may start conversations
  (member) in the model's workspace; models the caller cannot see are "unknown" (400).
* ``run`` raises on a failed call (the API answers 429/502/504); ``compare`` keeps each
  side's own outcome so one provider's failure does not hide the other's answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal

from jinja2 import TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from core import tenancy
from core.api.errors import ApiError
from workflows.expressions import ExpressionError, render_value

from ..models import Conversation, LLMModel
from ..providers.base import ChatMessage, ProviderError
from .quotas import QuotaExhausted

MAX_TEMPLATE = 32_000
MAX_RENDERED = 200_000
_PARSER = SandboxedEnvironment()


@dataclass
class Answer:
    model_id: int
    model_name: str
    ok: bool
    text: str = ""
    finish_reason: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    cached_tokens: int = 0
    cost: Decimal = Decimal(0)
    currency: str = ""
    latency_ms: int = 0
    usage_log_id: int | None = None
    error: dict | None = None  # {"status", "code", "message"} when the call failed


@dataclass
class PlaygroundRun:
    prompt: str
    system: str
    answers: list[Answer] = field(default_factory=list)


def render(template: str, variables: dict, *, name: str = "template") -> str:
    """``template`` rendered with ``variables``; ApiError 400 ``template_error`` naming
    what is wrong (syntax, an unknown variable, a sandbox refusal)."""
    if not isinstance(variables, dict):
        raise ApiError(400, "invalid", "Variables must be a JSON object.",
                       errors={"variables": ["Expected an object of names to values."]})
    unknown = _unknown_names(template, variables)
    if unknown:
        known = ", ".join(sorted(variables)) or "none"
        detail = f"unknown variable {', '.join(map(repr, unknown))} (there are: {known})"
        raise ApiError(400, "template_error", f"The {name} could not be rendered: {detail}",
                       errors={name: [detail]})
    try:
        value = render_value(template, variables, name)
    except ExpressionError as error:
        raise ApiError(400, "template_error", f"The {name} could not be rendered: "
                                              f"{error.detail}",
                       errors={name: [error.detail]}) from error
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    text = "" if value is None else str(value)
    if len(text) > MAX_RENDERED:
        raise ApiError(400, "template_error", f"The rendered {name} is longer than "
                                              f"{MAX_RENDERED} characters.",
                       errors={name: ["Rendered text too long."]})
    return text


def _unknown_names(template: str, variables: dict) -> list[str]:
    # The sandbox reports a missing top-level name obscurely (as "a function"); name it.
    try:
        names = meta.find_undeclared_variables(_PARSER.parse(template))
    except TemplateSyntaxError:
        return []  # rendering reports the syntax error with its line
    return sorted(names - set(variables) - set(_PARSER.globals) - {"jmespath"})


def usable_models(principal: tenancy.Principal):
    """Chat models in the workspaces where ``principal`` may start conversations."""
    models = LLMModel.objects.select_related("provider").filter(kind=LLMModel.Kind.CHAT)
    ids = tenancy.workspace_ids(principal, Conversation, "add")
    return models if ids is None else models.filter(workspace_id__in=ids)


def resolve_models(principal: tenancy.Principal, ids: list[int], *,
                   field_name: str = "model") -> list[LLMModel]:
    """The models for ``ids`` in order; 400 for one the caller cannot see or use."""
    found = {m.pk: m for m in usable_models(principal).filter(pk__in=ids)}
    missing = [pk for pk in ids if pk not in found]
    if missing:
        visible = set(tenancy.visible(LLMModel.objects.filter(pk__in=missing), principal)
                      .values_list("pk", flat=True))
        messages = [f"Model {pk} is not a chat model you may run (the member role is "
                    "needed)." if pk in visible else f"No chat model with id {pk} in your "
                    "workspaces." for pk in missing]
        raise ApiError(400, "invalid", messages[0], errors={field_name: messages})
    return [found[pk] for pk in ids]


def _messages(system: str, prompt: str) -> list[ChatMessage]:
    head = [ChatMessage(role="system", content=system)] if system else []
    return [*head, ChatMessage(role="user", content=prompt)]


def _call(model: LLMModel, messages, *, principal, temperature, max_tokens) -> Answer:
    # Imported here: the provider SDKs load on the first call, not with the URLconf.
    from . import calls

    result, row = calls.call_model(
        model=model, messages=messages, source="playground", workspace_id=model.workspace_id,
        user=getattr(principal, "user", None), temperature=temperature, max_tokens=max_tokens)
    return Answer(model.pk, model.name, True, result.content, result.finish_reason,
                  row.tokens_in, row.tokens_out, row.cached_tokens, row.cost, row.currency,
                  row.latency_ms, row.pk)


def _failure(model: LLMModel, error: Exception) -> ApiError:
    if isinstance(error, ApiError):
        return error
    timeout = error.code == "timeout"
    headers = {"Retry-After": str(int(error.retry_after))} if error.retry_after else None
    return ApiError(504 if timeout else 502, "provider_timeout" if timeout else
                    "provider_error", f"The model provider failed: {error.message}",
                    errors={"model": model.pk, "provider_code": error.code},
                    headers=headers)


def _prepare(template, variables, system):
    if len(template) > MAX_TEMPLATE or len(system or "") > MAX_TEMPLATE:
        raise ApiError(400, "invalid", f"Templates are limited to {MAX_TEMPLATE} characters.")
    prompt = render(template, variables or {})
    if not prompt.strip():
        raise ApiError(400, "template_error", "The rendered prompt is blank.",
                       errors={"template": ["Renders to nothing to send."]})
    return prompt, render(system, variables or {}, name="system") if system else ""


def run(*, principal: tenancy.Principal, model: LLMModel, template: str,
        variables: dict | None = None, system: str = "", temperature: float | None = None,
        max_tokens: int | None = None) -> PlaygroundRun:
    prompt, system = _prepare(template, variables, system)
    try:
        answer = _call(model, _messages(system, prompt), principal=principal,
                       temperature=temperature, max_tokens=max_tokens)
    except (ProviderError, QuotaExhausted) as error:
        raise _failure(model, error) from error
    return PlaygroundRun(prompt, system, [answer])


def compare(*, principal: tenancy.Principal, models: list[LLMModel], template: str,
            variables: dict | None = None, system: str = "",
            temperature: float | None = None, max_tokens: int | None = None) -> PlaygroundRun:
    """The same rendered input to each model in turn; each side keeps its own outcome."""
    prompt, system = _prepare(template, variables, system)
    result = PlaygroundRun(prompt, system)
    for model in models:
        try:
            answer = _call(model, _messages(system, prompt), principal=principal,
                           temperature=temperature, max_tokens=max_tokens)
        except (ProviderError, QuotaExhausted) as error:
            failure = _failure(model, error)
            answer = Answer(model.pk, model.name, False, error={
                "status": failure.status_code, "code": failure.error_code,
                "message": failure.message})
        result.answers.append(answer)
    return result
