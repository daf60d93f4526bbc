"""What makes a value valid, and what it becomes: in Python and in PostgreSQL SQL.

The two halves sit side by side so a rule changes in one place.  Python runs
them row by row on SQLite; PostgreSQL runs the SQL over the whole staging
table at once.  Both use the patterns declared in ``analytics.formats`` and
give the same reasons, which the tests check on each database.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
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


def source_moment(raw: str | None, tz: ZoneInfo) -> datetime | None:
    """The instant of a valid date value that has a time of day; None for a date only.

    A value without an offset is a wall-clock time in the source zone ``tz``,
    read as PostgreSQL's ``AT TIME ZONE`` reads it, so both databases agree.
    """
    value = (raw or "").strip(BLANKS)
    if not _DATE["timestamp"].match(value):
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else wall_clock(moment, tz)


def wall_clock(naive: datetime, tz: ZoneInfo) -> datetime:
    """``naive`` on the clocks of ``tz``, with daylight-saving changes decided.

    A time the clocks skipped (spring forward: 2018-11-04 00:30 in Sao Paulo)
    takes the offset in force before the change, so it becomes the instant the
    clocks showed as 01:30; a time they showed twice (fall back) is the later,
    standard-time one.  That is PostgreSQL's rule for ``timestamp AT TIME
    ZONE``; Python's ``fold`` alone picks the earlier one.
    """
    earlier, later = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    if earlier.utcoffset() == later.utcoffset():
        return earlier
    # Repeated times survive a round trip through UTC; skipped ones do not.
    repeated = later.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive
    return later if repeated else earlier


# --- PostgreSQL (set-based) ---------------------------------------------------------------

def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _trim(field: str, tidy: bool = False) -> str:
    """The field trimmed as ``parse`` trims it (btrim alone removes only spaces).

    ``tidy``: the stager saw no blank at either end of any field of the row, so the
    field is its own trimmed value; btrim with multi-byte blanks costs more than
    any check on the value, and the typed values would need it some 30 times a row.
    """
    return field if tidy else f"btrim({field}, {_lit(BLANKS)})"


def sql_valid(columns, alias: str, tidy: bool = False) -> str:
    """True for a staged row whose every field is valid.

    Each field is first tried against a cheap test that only valid values
    pass (the shape of nearly every real value); the full rules run only for
    what that test does not settle.  A NULL field makes the whole row not true.
    """
    return " AND ".join(
        f"({_sql_quick(c, f'{alias}.{c.name}', tidy)} OR "
        f"({sql_reason(c, f'{alias}.{c.name}')}) IS NULL)" for c in columns)


def _sql_quick(column: Column, field: str, tidy: bool = False) -> str:
    if column.kind == "text":
        return f"char_length({_trim(field, tidy)}) BETWEEN 1 AND {column.max_length}"
    if column.kind == "int":
        return f"{field} ~ {_lit(INT_PATTERN)}"
    if column.kind == "decimal":
        # One digit short of the limit: rounding cannot carry it past the column.
        sign = "" if column.non_negative else "-?"
        return f"{field} ~ '^{sign}[0-9]{{1,{column.integer_digits - 1}}}([.,][0-9]+)?$'"
    # A date, or a date and a time of day to the second (the predecessor's TIMESTAMP):
    # hash lookups, where a regular expression would cost more than the rest of the row.
    return (f"({field} IN {_REAL_DAYS} OR (left({field}, 10) IN {_REAL_DAYS} AND "
            f"substr({field}, 11, 6) IN {_REAL_MINUTES} AND (char_length({field}) = 16 OR "
            f"substr({field}, 17) IN {_REAL_SECONDS})))")


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


# A time of day after a date's ' ' or 'T', as text: hours and minutes, then seconds.
_REAL_MINUTES = ("(SELECT x.sep || to_char(t, 'HH24:MI') FROM generate_series("
                 "'2000-01-01'::timestamp, '2000-01-01 23:59'::timestamp, '1 minute') AS t "
                 "CROSS JOIN (VALUES (' '), ('T')) AS x(sep))")
_REAL_SECONDS = "(SELECT ':' || to_char(n, 'FM00') FROM generate_series(0, 59) AS n)"


def _sql_has_offset(v: str) -> str:
    """For a valid timestamp: does it end in Z or an offset?  After the minutes
    (character 17 on) a plain one has only digits, ':' and '.'."""
    return f"(translate(substr({v}, 17), '0123456789:.', '') <> '')"


def _sql_calendar_ok(v: str) -> str:
    """A real day, and a timestamp's clock within range (shape already checked)."""
    br = f"({v} ~ {_lit(DATE_PATTERNS['br'])})"
    iso_day = (f"(CASE WHEN {br} THEN substr({v}, 7, 4) || '-' || substr({v}, 4, 2) || '-' "
               f"|| substr({v}, 1, 2) ELSE left({v}, 10) END)")
    clock = (f"(char_length({v}) < 16 OR (substr({v}, 12, 2)::int < 24 "
             f"AND substr({v}, 15, 2)::int < 60 AND (substr({v}, 17, 1) <> ':' "
             f"OR substr({v}, 18, 2)::int < 60)))")
    return f"({iso_day} IN {_REAL_DAYS} AND {clock})"


def sql_value(column: Column, field: str, tidy: bool = False) -> str:
    """The typed value of a valid staging field; ``%(tz)s`` is the source time zone."""
    v = _trim(field, tidy)
    if column.kind == "text":
        return v
    if column.kind == "int":  # guarded: join keys are computed before rows are filtered
        return f"(CASE WHEN {v} ~ {_lit(INT_PATTERN)} THEN {v}::integer END)"
    if column.kind == "decimal":
        return f"translate({v}, ',', '.')::numeric({column.digits[0]}, {column.digits[1]})"
    # Valid values only: ten characters are a date (ISO or DD/MM/YYYY), longer ones a
    # timestamp, whose local date is its own unless an offset places it elsewhere.
    return (f"(CASE WHEN char_length({v}) = 10 THEN (CASE WHEN substr({v}, 3, 1) = '/' "
            f"THEN to_date({v}, 'DD/MM/YYYY') ELSE {v}::date END) "
            f"WHEN {_sql_has_offset(v)} "
            f"THEN (replace({v}, 'Z', '+00:00')::timestamptz AT TIME ZONE %(tz)s)::date "
            f"ELSE left({v}, 10)::date END)")


def sql_moment(field: str, tidy: bool = False) -> str:
    """``source_moment`` in SQL: a valid date field's instant, or NULL for a date only.

    ``timestamp AT TIME ZONE`` settles daylight-saving gaps and repeats as
    ``wall_clock`` documents.
    """
    v = _trim(field, tidy)
    return (f"(CASE WHEN char_length({v}) <= 10 THEN NULL "
            f"WHEN {_sql_has_offset(v)} THEN replace({v}, 'Z', '+00:00')::timestamptz "
            f"ELSE {v}::timestamp AT TIME ZONE %(tz)s END)")
