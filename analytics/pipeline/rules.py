"""What makes a value valid, and what it becomes: in Python and in PostgreSQL SQL.

The two halves sit side by side so a rule changes in one place.  Python runs
them row by row on SQLite; PostgreSQL runs the SQL over the whole staging
table at once.  Both use the patterns declared in ``analytics.formats`` and
give the same reasons, which the tests check on each database.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from ..formats import BLANKS, DATE_PATTERNS, DECIMAL_PATTERN, INT_PATTERN, Column

REQUIRED = "is required"
NOT_DATE = "is not a date (expected YYYY-MM-DD, DD/MM/YYYY or an ISO timestamp)"
NOT_CALENDAR_DATE = "is not a real calendar date or time (years 1900 to 2199)"
YEARS = (1900, 2199)
NOT_WHOLE = "is not a whole number (0 to 999999999)"
NOT_NUMBER = "is not a number (decimal comma or point, no thousands separators)"
NEGATIVE = "is negative: weights cannot be negative"


def too_long(column: Column) -> str:
    return f"is longer than {column.max_length} characters"


def too_large(column: Column) -> str:
    return f"has more than {column.integer_digits} digits before the decimal mark"


_DATE = {k: re.compile(p) for k, p in DATE_PATTERNS.items()}
_INT = re.compile(INT_PATTERN)
_DECIMAL = re.compile(DECIMAL_PATTERN)
_OFFSET_SQL = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"


# --- Python (row by row) ------------------------------------------------------------------

def parse(column: Column, raw: str | None, tz: ZoneInfo):
    """Return ``(value, None)`` or ``(None, reason)`` for one trimmed field."""
    value = (raw or "").strip(BLANKS)
    if not value:
        return None, REQUIRED
    if column.kind == "text":
        return (None, too_long(column)) if len(value) > column.max_length else (value, None)
    if column.kind == "int":
        return (int(value), None) if _INT.match(value) else (None, NOT_WHOLE)
    if column.kind == "decimal":
        return _parse_decimal(column, value)
    return _parse_date(value, tz)


def _parse_decimal(column: Column, value: str):
    if not _DECIMAL.match(value):
        return None, NOT_NUMBER
    number = Decimal(value.replace(",", "."))
    if len(value.lstrip("-").replace(",", ".").split(".")[0]) > column.integer_digits:
        return None, too_large(column)
    if column.non_negative and number < 0:
        return None, NEGATIVE
    number = number.quantize(Decimal(1).scaleb(-column.digits[1]), ROUND_HALF_UP)
    if abs(number) >= 10 ** column.integer_digits:  # 99999999999.9996 rounds up a digit
        return None, too_large(column)
    return number, None


def _parse_date(value: str, tz: ZoneInfo):
    try:
        if _DATE["iso"].match(value):
            day = date.fromisoformat(value)
        elif _DATE["br"].match(value):
            day = datetime.strptime(value, "%d/%m/%Y").date()
        elif _DATE["timestamp"].match(value):
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if not YEARS[0] <= moment.year <= YEARS[1]:
                return None, NOT_CALENDAR_DATE
            day = moment.astimezone(tz).date() if moment.tzinfo else moment.date()
        else:
            return None, NOT_DATE
    except (ValueError, InvalidOperation):
        return None, NOT_CALENDAR_DATE
    if not YEARS[0] <= day.year <= YEARS[1]:
        return None, NOT_CALENDAR_DATE
    return day, None


# --- PostgreSQL (set-based) ---------------------------------------------------------------

def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _trim(field: str) -> str:
    """The field trimmed as ``parse`` trims it (btrim alone removes only spaces)."""
    return f"btrim({field}, {_lit(BLANKS)})"


def sql_valid(columns, alias: str) -> str:
    """True for a staged row whose every field is valid.

    Each field is first tried against a cheap test that only valid values
    pass (the shape of nearly every real value); the full rules run only for
    what that test does not settle.  A NULL field makes the whole row not true.
    """
    return " AND ".join(
        f"({_sql_quick(c, f'{alias}.{c.name}')} OR "
        f"({sql_reason(c, f'{alias}.{c.name}')}) IS NULL)" for c in columns)


def _sql_quick(column: Column, field: str) -> str:
    if column.kind == "text":
        return f"char_length({_trim(field)}) BETWEEN 1 AND {column.max_length}"
    if column.kind == "int":
        return f"{field} ~ {_lit(INT_PATTERN)}"
    if column.kind == "decimal":
        # One digit short of the limit: rounding cannot carry it past the column.
        sign = "" if column.non_negative else "-?"
        return f"{field} ~ '^{sign}[0-9]{{1,{column.integer_digits - 1}}}([.,][0-9]+)?$'"
    return f"{field} IN {_REAL_DAYS}"


def sql_reason(column: Column, field: str) -> str:
    """A CASE expression: NULL when ``field`` (a staging text column) is valid, else why."""
    v = _trim(field)
    checks = [f"WHEN {field} IS NULL OR {v} = '' THEN {_lit(REQUIRED)}"]
    if column.kind == "decimal" and column.non_negative:  # the common case, decided at once
        checks.append(f"WHEN {v} ~ '^[0-9]{{1,{column.integer_digits - 1}}}([.,][0-9]+)?$' "
                      "THEN NULL")
    if column.kind == "text":
        checks.append(f"WHEN char_length({v}) > {column.max_length} "
                      f"THEN {_lit(too_long(column))}")
    elif column.kind == "int":
        checks.append(f"WHEN {v} !~ {_lit(INT_PATTERN)} THEN {_lit(NOT_WHOLE)}")
    elif column.kind == "decimal":
        checks.append(f"WHEN {v} !~ {_lit(DECIMAL_PATTERN)} THEN {_lit(NOT_NUMBER)}")
        checks.append(f"WHEN char_length(split_part(translate(ltrim({v}, '-'), ',', '.'), '.', 1))"
                      f" > {column.integer_digits} THEN {_lit(too_large(column))}")
        if column.non_negative:
            checks.append(f"WHEN translate({v}, ',', '.')::numeric < 0 THEN {_lit(NEGATIVE)}")
        checks.append(f"WHEN abs(round(translate({v}, ',', '.')::numeric, {column.digits[1]}))"
                      f" >= 1e{column.integer_digits} THEN {_lit(too_large(column))}")
    else:
        shapes = " OR ".join(f"{v} ~ {_lit(p)}" for p in DATE_PATTERNS.values())
        # The source's own format first: most values end their check here.
        checks.append(f"WHEN {v} ~ {_lit(DATE_PATTERNS['iso'])} AND {v} IN {_REAL_DAYS} "
                      "THEN NULL")
        checks.append(f"WHEN NOT ({shapes}) THEN {_lit(NOT_DATE)}")
        checks.append(f"WHEN NOT {_sql_calendar_ok(v)} THEN {_lit(NOT_CALENDAR_DATE)}")
    return "CASE " + " ".join(checks) + " END"


# Every real calendar day as text; PostgreSQL hashes this once per statement, so
# checking a value is one lookup instead of month-length arithmetic per row.
_REAL_DAYS = (f"(SELECT to_char(d, 'YYYY-MM-DD') FROM generate_series("
              f"'{YEARS[0]}-01-01'::date, '{YEARS[1]}-12-31'::date, '1 day') AS d)")


def _sql_calendar_ok(v: str) -> str:
    """A real day, and a timestamp's clock within range (shape already checked)."""
    br = f"({v} ~ {_lit(DATE_PATTERNS['br'])})"
    iso_day = (f"(CASE WHEN {br} THEN substr({v}, 7, 4) || '-' || substr({v}, 4, 2) || '-' "
               f"|| substr({v}, 1, 2) ELSE left({v}, 10) END)")
    clock = (f"(char_length({v}) < 16 OR (substr({v}, 12, 2)::int < 24 "
             f"AND substr({v}, 15, 2)::int < 60 AND (substr({v}, 17, 1) <> ':' "
             f"OR substr({v}, 18, 2)::int < 60)))")
    return f"({iso_day} IN {_REAL_DAYS} AND {clock})"


def sql_value(column: Column, field: str) -> str:
    """The typed value of a valid staging field; ``%(tz)s`` is the source time zone."""
    v = _trim(field)
    if column.kind == "text":
        return v
    if column.kind == "int":  # guarded: join keys are computed before rows are filtered
        return f"(CASE WHEN {v} ~ {_lit(INT_PATTERN)} THEN {v}::integer END)"
    if column.kind == "decimal":
        return f"translate({v}, ',', '.')::numeric({column.digits[0]}, {column.digits[1]})"
    return (f"(CASE WHEN {v} ~ {_lit(DATE_PATTERNS['iso'])} THEN {v}::date "
            f"WHEN {v} ~ {_lit(DATE_PATTERNS['br'])} THEN to_date({v}, 'DD/MM/YYYY') "
            f"WHEN {v} ~ {_lit(_OFFSET_SQL)} "
            f"THEN (replace({v}, 'Z', '+00:00')::timestamptz AT TIME ZONE %(tz)s)::date "
            f"ELSE left({v}, 10)::date END)")
