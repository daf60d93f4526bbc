"""Expressions in node config: Jinja2 in a sandbox, JMESPath for data, secrets by name.

A config value holding ``{{ ... }}`` (or ``{% ... %}``) is rendered before the node runs,
with this scope::

    input       the execution's input (what the trigger received)
    nodes       {key: {"output": ...}} for the nodes that have finished
    execution   {"id", "trace_id"}
    secrets     secrets.NAME (or secrets["a-name"]): the workspace vault, at run time
    vars        vars.NAME: the variables of the user the run belongs to (who started it,
                else the workflow's creator), at run time; secret ones are redacted

* A value that is exactly one expression keeps its type: ``"{{ nodes.a.output.count }}"``
  gives the number, ``"{{ input.items }}"`` the list.  Anything else renders to text, where
  objects and lists appear as JSON, booleans as ``true``/``false`` and null as nothing.
* ``a.b`` reads the key ``b`` of a mapping before any method of that name, so
  ``nodes.fetch.output.items[0].id`` means the data, not ``dict.items``.
* JMESPath: the filter ``data | jmespath("items[?qty > `5`].sku")``, and the function
  ``jmespath("nodes.fetch.output.items[0]")`` which searches the whole scope (secrets
  excepted) or ``jmespath(expr, data)``.
* Unknown names, keys and secrets are errors (``StrictUndefined``), each naming the config
  path it came from (``headers.Authorization: ...``), never rendered as empty text.
* Secrets and variables are resolved only here, at run time, and are never part of the
  stored execution data; ``render_config`` returns the secret values it used (vault
  secrets and secret variables) so the engine can ``redact`` them from everything it stores.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

import jmespath as jmespath_lib
from jinja2 import StrictUndefined, TemplateError, Undefined, meta, pass_context
from jinja2 import nodes as jinja_nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from jinja2.utils import missing as _JINJA_MISSING
from jmespath.exceptions import JMESPathError

from .nodes.base import NodeError

#: Names an expression may use at its top level.
SCOPE_NAMES = ("input", "nodes", "execution", "secrets", "vars")
#: Names resolved at run time by lookup, never handed to JMESPath's whole-scope search.
_LOOKUP_NAMES = ("secrets", "vars")
REDACTED = "***"
#: Bounds on what one expression may build (the sandbox already bounds ``range``).
MAX_REPEAT = 1_000_000
MAX_EXPONENT = 1_000
_SINGLE = re.compile(r"^\s*\{\{-?(?P<expr>.*?)-?\}\}\s*$", re.DOTALL)


class ExpressionError(NodeError):
    """A config value could not be rendered; ``path`` names the value."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}", retryable=False)
        self.path = path
        self.detail = message


# --- the environment -------------------------------------------------------------------


class _Undefined(StrictUndefined):
    """Names the missing key and the keys that exist ("no key 'x' (there are: a, b)")."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        missing, obj = self._undefined_name, self._undefined_obj
        if self._undefined_hint or missing is None:
            return super()._undefined_message
        if isinstance(obj, Mapping):
            keys = ", ".join(sorted(map(str, obj))[:20]) or "none"
            return f"no key {missing!r} (there are: {keys})"
        if isinstance(obj, list | tuple) and isinstance(missing, int):
            return f"no item {missing} (the list has {len(obj)})"
        if obj is not None and not isinstance(obj, Undefined) and obj is not _JINJA_MISSING:
            return f"{type(obj).__name__} value has no {missing!r}"
        return f"{missing!r} is undefined"


def _finalize(value):
    if callable(value):
        raise TypeError("the expression gives a function, not a value (a missing call?)")
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _jmespath_filter(data, expression: str):
    try:
        return jmespath_lib.search(expression, data)
    except JMESPathError as exc:
        raise ValueError(f"JMESPath {expression!r}: {_one_line(exc)}") from exc


_NO_DATA = object()


@pass_context
def _jmespath_function(context, expression: str, data=_NO_DATA):
    if data is _NO_DATA:
        data = {name: context.get(name) for name in SCOPE_NAMES if name not in _LOOKUP_NAMES}
    return _jmespath_filter(data, expression)


class _Environment(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def getattr(self, obj, attribute):
        # Data first: ``output.items`` is the key "items", not dict.items.
        if isinstance(obj, Mapping) and isinstance(attribute, str):
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                pass
        return super().getattr(obj, attribute)

    def call_binop(self, context, operator, left, right):
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"exponents above {MAX_EXPONENT} are not allowed")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) and \
                        len(seq) * times > MAX_REPEAT:
                    raise SecurityError(f"results longer than {MAX_REPEAT} are not allowed")
        return super().call_binop(context, operator, left, right)


def _environment() -> _Environment:
    env = _Environment(undefined=_Undefined, finalize=_finalize, autoescape=False,
                       keep_trailing_newline=True)
    env.filters["jmespath"] = _jmespath_filter
    env.globals["jmespath"] = _jmespath_function
    return env


_env = _environment()
_ALLOWED_NAMES = set(SCOPE_NAMES) | set(_env.globals)


@lru_cache(maxsize=1024)
def _template(text: str):
    return _env.from_string(text)


@lru_cache(maxsize=1024)
def _expression(source: str):
    return _env.compile_expression(source, undefined_to_none=False)


def is_template(value) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _single(text: str) -> str | None:
    """The expression inside ``text`` when it is exactly one ``{{ ... }}``, else None."""
    match = _SINGLE.match(text)
    if not match:
        return None
    inner = match.group("expr")
    if any(mark in inner for mark in ("{{", "}}", "{%", "%}", "{#")):
        return None
    return inner


# --- secrets ---------------------------------------------------------------------------


class _Secrets:
    """``secrets.NAME`` in an expression: looked up when used, remembered for redaction."""

    def __init__(self, lookup: Callable[[str], str], used: list[str]):
        self._lookup = lookup
        self._used = used

    def _get(self, name: str) -> str:
        value = self._lookup(name)
        self._used.append(value)
        return value

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._get(name)

    def __getitem__(self, name: str) -> str:
        return self._get(str(name))

    def __repr__(self) -> str:
        return "<secrets>"


class _Vars(_Secrets):
    """``vars.NAME``: the run's user variables; only secret ones are kept for redaction."""

    def __init__(self, lookup: Callable[[str], tuple[str, bool]], used: list[str]):
        super().__init__(lookup, used)

    def _get(self, name: str) -> str:
        try:
            value, is_secret = self._lookup(name)
        except LookupError as exc:
            raise NodeError(f"vars.{name}: {_one_line(exc)}", retryable=False) from None
        if is_secret:
            self._used.append(value)
        return value

    def __repr__(self) -> str:
        return "<vars>"


def _no_variables(name: str) -> tuple[str, bool]:
    raise LookupError("variables are not available here.")


def run_variables(user_id: int | None = None, *,
                  resolve_user: Callable[[], int | None] | None = None,
                  ) -> Callable[[str], tuple[str, bool]]:
    """``name -> (value, is_secret)`` over the variables of the user a run belongs to.

    ``resolve_user`` finds that user only when a config first uses ``vars``, so runs
    that never do cost no query.
    """
    from accounts.services.variables import variable_lookup

    lookup = None

    def get(name: str) -> tuple[str, bool]:
        nonlocal lookup
        if lookup is None:
            owner = user_id if user_id is not None or resolve_user is None else resolve_user()
            lookup = variable_lookup(owner)
        return lookup(name)

    return get


def _no_secrets(name: str) -> str:
    raise NodeError(f"secrets.{name}: secrets are not available here.", retryable=False)


def workspace_secrets(workspace_id: int, *,
                      execution_id: int | None = None) -> Callable[[str], str]:
    """A lookup of the workspace's vault secrets by name for one node attempt.

    Each secret is decrypted once per lookup.  Use is recorded as a ``reveal``
    SecretAccess row (no user: the workflow) once per execution and secret when
    ``execution_id`` is given (best effort through the cache: a process that did not
    see the first use records one more), else once per lookup.
    """
    from django.core.cache import cache

    from workspaces.models import Secret
    from workspaces.services import vault

    values: dict[str, str] = {}

    def lookup(name: str) -> str:
        if name in values:
            return values[name]
        secret = Secret.objects.filter(workspace_id=workspace_id, name=name).first()
        if secret is None:
            raise NodeError(f"secrets.{name}: there is no secret named {name!r} in this "
                            f"workspace.", retryable=False)
        first_use = execution_id is None or cache.add(
            f"workflows:secret-use:{execution_id}:{secret.pk}", 1, timeout=7 * 86_400)
        values[name] = (vault.secret_reveal(secret=secret, principal=None) if first_use
                        else vault.decrypt(secret.ciphertext))
        return values[name]

    return lookup


# --- rendering -------------------------------------------------------------------------


def _one_line(exc: Exception) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())


def _native(value, path: str):
    """What a single expression gives, as JSON-like data."""
    if isinstance(value, Undefined):
        str(value)  # StrictUndefined raises, naming what is missing
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(k): _native(v, path) for k, v in value.items()}
    if isinstance(value, list | tuple | Iterator):
        return [_native(v, path) for v in value]
    if callable(value) or isinstance(value, _Secrets):  # _Vars included
        raise ExpressionError(path, "the expression gives a function or object, not a "
                                    "value (a missing key or a missing call?).")
    return str(value)


def _join(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)


def render_value(text: str, context: dict, path: str):
    try:
        inner = _single(text)
        if inner is not None:
            return _native(_expression(inner)(**context), path)
        return _template(text).render(**context)
    except ExpressionError:
        raise
    except NodeError as exc:  # a missing secret or variable
        message = str(exc)
        raise ExpressionError(path, message) from exc
    except (TemplateError, SecurityError, ArithmeticError, LookupError, TypeError,
            ValueError, AttributeError, RecursionError) as exc:
        raise ExpressionError(path, _one_line(exc)) from exc


def render_config(config, *, scope: dict, secrets: Callable[[str], str] | None = None,
                  variables: Callable[[str], tuple[str, bool]] | None = None,
                  ) -> tuple[Any, tuple[str, ...]]:
    """Render every templated value of ``config`` (keys are left as they are).

    Returns the rendered config and the secret values it used (vault secrets and secret
    user variables, for ``redact``).
    Raises :class:`ExpressionError` naming the config path of the first value that fails.
    """
    used: list[str] = []
    context = {name: scope.get(name) for name in SCOPE_NAMES if name not in _LOOKUP_NAMES}
    context["secrets"] = _Secrets(secrets or _no_secrets, used)
    context["vars"] = _Vars(variables or _no_variables, used)

    def walk(value, path):
        if is_template(value):
            return render_value(value, context, path or "config")
        if isinstance(value, Mapping):
            return {k: walk(v, _join(path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return value

    try:
        rendered = walk(config, "")
    except ExpressionError as exc:
        if not any(used):
            raise
        # ``input[secrets.X]`` fails naming the missing key: the secret itself.  The caller
        # gets no secret values to redact with when rendering fails, so redact here.
        raise ExpressionError(exc.path, redact(exc.detail, used)) from None
    return rendered, tuple(dict.fromkeys(v for v in used if v))


# --- redaction -------------------------------------------------------------------------


def _variants(secret: str) -> Iterable[str]:
    """A secret as it may appear in stored text: as is, JSON-escaped, URL-encoded."""
    from urllib.parse import quote, quote_plus

    yield secret
    yield json.dumps(secret, ensure_ascii=False)[1:-1]
    yield json.dumps(secret)[1:-1]
    yield quote(secret, safe="")
    yield quote_plus(secret)


def redact(value, secret_values):
    """``value`` with every secret value replaced by ``***`` (strings in mappings, lists,
    keys included); anything else is returned as it is."""
    needles = sorted({v for s in secret_values or () if s for v in _variants(s) if v},
                     key=len, reverse=True)
    if not needles:
        return value

    def scrub(text: str) -> str:
        for needle in needles:
            if needle in text:
                text = text.replace(needle, REDACTED)
        return text

    def walk(item):
        if isinstance(item, str):
            return scrub(item)
        if isinstance(item, Mapping):
            return {scrub(k) if isinstance(k, str) else k: walk(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [walk(v) for v in item]
        return item

    return walk(value)


# --- static checks (graph validation) ----------------------------------------------------


def _parse(text: str):
    return _env.parse(text)


def _constant_jmespath(tree) -> Iterator[tuple[str, bool]]:
    """JMESPath expressions written as literals: (expression, searches the whole scope)."""
    for node in tree.find_all((jinja_nodes.Filter, jinja_nodes.Call)):
        if isinstance(node, jinja_nodes.Filter) and node.name == "jmespath":
            if node.args and isinstance(node.args[0], jinja_nodes.Const) and \
                    isinstance(node.args[0].value, str):
                yield node.args[0].value, False
        elif isinstance(node, jinja_nodes.Call) and isinstance(node.node, jinja_nodes.Name) \
                and node.node.name == "jmespath" and node.args and \
                isinstance(node.args[0], jinja_nodes.Const) and \
                isinstance(node.args[0].value, str):
            yield node.args[0].value, len(node.args) == 1


def parse_errors(text: str) -> list[str]:
    """Problems with the expressions in ``text`` found without running them: syntax,
    unknown filters, names outside the scope, malformed literal JMESPath."""
    if not is_template(text):
        return []
    try:
        tree = _parse(text)
        _env.compile(tree)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line and "\n" in text else ""
        return [f"{_one_line(exc)}{where}"]
    problems = []
    unknown = sorted(meta.find_undeclared_variables(tree) - _ALLOWED_NAMES)
    for name in unknown:
        problems.append(f"Unknown name {name!r}: expressions use "
                        f"{', '.join(SCOPE_NAMES)} (and jmespath).")
    for expression, _whole in _constant_jmespath(tree):
        try:
            jmespath_lib.compile(expression)
        except JMESPathError as exc:
            problems.append(f"JMESPath {expression!r}: {_one_line(exc)}")
    return problems


def _jmespath_nodes(parsed) -> Iterator[str]:
    if isinstance(parsed, dict):
        children = parsed.get("children") or []
        if parsed.get("type") == "subexpression" and len(children) >= 2 and \
                children[0] == {"type": "field", "children": [], "value": "nodes"} and \
                children[1].get("type") == "field":
            yield children[1]["value"]
        for child in children:
            yield from _jmespath_nodes(child)


def referenced_nodes(text: str) -> set[str]:
    """Keys of the nodes ``text`` reads (``nodes.a...``, ``nodes["a"]``, and
    ``jmespath("nodes.a...")``); empty when it does not parse (see ``parse_errors``)."""
    if not is_template(text):
        return set()
    try:
        tree = _parse(text)
    except TemplateError:
        return set()
    found = set()
    for node in tree.find_all((jinja_nodes.Getattr, jinja_nodes.Getitem)):
        target = node.node
        if not (isinstance(target, jinja_nodes.Name) and target.name == "nodes"):
            continue
        if isinstance(node, jinja_nodes.Getattr):
            found.add(node.attr)
        elif isinstance(node.arg, jinja_nodes.Const) and isinstance(node.arg.value, str):
            found.add(node.arg.value)
    for expression, whole_scope in _constant_jmespath(tree):
        if not whole_scope:
            continue
        try:
            found.update(_jmespath_nodes(jmespath_lib.compile(expression).parsed))
        except JMESPathError:
            continue
    return found
