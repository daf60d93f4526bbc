"""Event properties in SQL: a property read as a number, property filters, percentiles.

A property is a top-level key of ``Event.properties`` (a key may contain dots or any other
character: it is never split into a path).  Filters are ``[{"property", "op", "value"}]``,
all of which must hold:

========  ==========================================================================
eq, neq   the JSON value equals ``value`` (a string, number, boolean or null; ``5`` and
          ``5.0`` are equal, ``"5"`` is not); ``neq`` also matches events without it
gt, gte,  the property is a JSON number and compares so with ``value`` (a number);
lt, lte   events where it is missing or not a number do not match
contains  the property's text contains ``value`` (a string), ignoring case
exists    the key is present (``value`` true, the default) or absent (false)
========  ==========================================================================
"""

from __future__ import annotations

import json
import math

from django.core.exceptions import ValidationError
from django.db.models import Aggregate, F, FloatField, Func, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform, KeyTransform

OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "contains", "exists")
NUMERIC_OPS = ("gt", "gte", "lt", "lte")
MAX_FILTERS = 20
MAX_KEY_LENGTH = 200


class NumericProperty(Func):
    """The property as a double when it is a JSON number, else NULL (never a cast error
    on a string value, so one odd event cannot fail a dashboard)."""

    output_field = FloatField()

    def __init__(self, key: str, column: str = "properties"):
        super().__init__(F(column))
        self.key = key

    def as_postgresql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        sql = (f"(CASE WHEN jsonb_typeof({column} -> %s) = 'number' "
               f"THEN ({column} ->> %s)::double precision END)")
        return sql, (*params, self.key, *params, self.key)

    def as_sql(self, compiler, connection, **extra):  # SQLite's JSON1 functions
        column, params = compiler.compile(self.source_expressions[0])
        path = "$." + json.dumps(self.key)  # $."key": any character, quoted
        sql = (f"(CASE WHEN json_type({column}, %s) IN ('integer', 'real') "
               f"THEN CAST(json_extract({column}, %s) AS REAL) END)")
        return sql, (*params, path, *params, path)


class PercentileCont(Aggregate):
    """PostgreSQL's ``percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)``:
    linear interpolation between the two nearest values, NULLs ignored."""

    function = "percentile_cont"
    name = "PercentileCont"
    output_field = FloatField()
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, fraction: float, **extra):
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be within 0..1")
        # A float rendered by repr is a plain SQL numeric literal (validated above).
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def percentile_of(values: list[float], fraction: float) -> float:
    """``percentile_cont`` in Python (the portable fallback): same interpolation."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _is_number(value) -> bool:
    """A finite number a double holds (``10**400`` is not: no database column compares
    with it)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def validate_key(key, field: str = "property") -> str:
    if not isinstance(key, str) or not key.strip():
        raise ValidationError({field: "A property name (a non-empty string) is required."})
    if len(key) > MAX_KEY_LENGTH or "\x00" in key:
        raise ValidationError({field: f"A property name is at most {MAX_KEY_LENGTH} "
                                      "characters, without NUL."})
    return key


def validate_filters(filters, field: str = "filters") -> list[dict]:
    """The filters, checked; ``ValidationError({field: [...]})`` naming each bad one."""
    if filters in (None, ""):
        return []
    if not isinstance(filters, list):
        raise ValidationError({field: 'A list of {"property", "op", "value"} objects is '
                                      "expected."})
    if len(filters) > MAX_FILTERS:
        raise ValidationError({field: f"At most {MAX_FILTERS} filters."})
    problems = []
    for n, item in enumerate(filters, start=1):
        problem = _filter_problem(item)
        if problem:
            problems.append(f"Filter {n}: {problem}")
    if problems:
        raise ValidationError({field: problems})
    return filters


def _filter_problem(item) -> str:
    if not isinstance(item, dict):
        return 'expected an object {"property", "op", "value"}.'
    unknown = set(item) - {"property", "op", "value"}
    if unknown:
        return f"unknown key(s) {', '.join(sorted(map(str, unknown)))}."
    key, op, value = item.get("property"), item.get("op"), item.get("value")
    try:
        validate_key(key)
    except ValidationError:
        return f"'property' must be a non-empty string of at most {MAX_KEY_LENGTH} characters."
    if op not in OPS:
        return f"'op' must be one of {', '.join(OPS)} (got {op!r})."
    if op in NUMERIC_OPS and not _is_number(value):
        return f"'{op}' compares numbers: 'value' must be a number."
    if op == "contains" and (not isinstance(value, str) or not value):
        return "'contains' needs a non-empty string 'value'."
    if op == "exists" and "value" in item and not isinstance(value, bool):
        return "'exists' takes true or false as 'value' (default true)."
    if op in ("eq", "neq"):
        if "value" not in item:
            return f"'{op}' needs a 'value'."
        if isinstance(value, dict | list) or (isinstance(value, float)
                                              and not math.isfinite(value)):
            return f"'{op}' compares with a string, number, boolean or null."
    return ""


def apply_filters(events: QuerySet, filters: list[dict]) -> QuerySet:
    """``events`` narrowed by (already validated) ``filters``."""
    for n, item in enumerate(filters):
        key, op, value = item["property"], item["op"], item.get("value", True)
        alias = f"_filter_{n}"
        if op in NUMERIC_OPS:
            events = events.alias(**{alias: NumericProperty(key)}).filter(
                **{f"{alias}__{op}": float(value)})
        elif op == "contains":
            events = events.alias(**{alias: KeyTextTransform(key, "properties")}).filter(
                **{f"{alias}__icontains": value})
        elif op == "exists":
            events = events.alias(**{alias: KeyTransform(key, "properties")}).filter(
                **{f"{alias}__isnull": not value})
        else:
            events = events.alias(**{alias: KeyTransform(key, "properties")})
            equal = Q(**{alias: value})  # None: a JSON null (Django's key lookup)
            events = events.filter(equal if op == "eq" else
                                   ~equal | Q(**{f"{alias}__isnull": True}))
    return events
