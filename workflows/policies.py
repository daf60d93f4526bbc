"""Validation of the JSON settings a workflow carries: retry policy, input schema, keys."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

#: Retries: attempts in all (1 = no retry), first delay in seconds, doubling per attempt,
#: randomised by up to ``jitter`` of itself, never longer than ``max_delay``.
RETRY_DEFAULTS = {"max_attempts": 1, "backoff": 2.0, "jitter": 0.2, "max_delay": 300.0}
_RETRY_LIMITS = {"max_attempts": (1, 20), "backoff": (0, 3600), "jitter": (0, 1),
                 "max_delay": (0, 86_400)}
NODE_KEY = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")


def validate_retry_policy(value) -> None:
    if value in (None, {}):
        return
    if not isinstance(value, dict):
        raise ValidationError("The retry policy must be an object such as "
                              '{"max_attempts": 3, "backoff": 2, "jitter": 0.2, '
                              '"max_delay": 300}.', code="invalid_retry_policy")
    unknown = sorted(set(value) - set(RETRY_DEFAULTS))
    if unknown:
        raise ValidationError("Unknown retry policy keys: %(keys)s (known: max_attempts, "
                              "backoff, jitter, max_delay).", code="invalid_retry_policy",
                              params={"keys": ", ".join(unknown)})
    for key, (low, high) in _RETRY_LIMITS.items():
        if key not in value:
            continue
        number = value[key]
        if isinstance(number, bool) or not isinstance(number, int | float) or \
                (key == "max_attempts" and not isinstance(number, int)):
            raise ValidationError("%(key)s must be a number.", code="invalid_retry_policy",
                                  params={"key": key})
        if not low <= number <= high:
            raise ValidationError("%(key)s must be between %(low)s and %(high)s.",
                                  code="invalid_retry_policy",
                                  params={"key": key, "low": low, "high": high})


def retry_policy(*policies: dict | None) -> dict:
    """The effective policy: defaults, overridden by each policy given in turn."""
    merged = dict(RETRY_DEFAULTS)
    for policy in policies:
        merged.update(policy or {})
    return merged


def validate_json_schema(value) -> None:
    if value in (None, {}):
        return
    if not isinstance(value, dict):
        raise ValidationError("The input schema must be a JSON Schema object.",
                              code="invalid_schema")
    try:
        Draft202012Validator.check_schema(value)
    except SchemaError as exc:
        raise ValidationError("Not a valid JSON Schema: %(reason)s",
                              code="invalid_schema", params={"reason": exc.message}) from exc


def validate_node_key(value: str) -> None:
    if not NODE_KEY.match(value or ""):
        raise ValidationError(
            "%(value)s is not a node key: lower-case letters, digits and underscores, "
            "starting with a letter or underscore (it is how expressions name the node: "
            "{{ nodes.<key>.output }}).", code="invalid_node_key", params={"value": value})
