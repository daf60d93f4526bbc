"""Batch ingestion of usage events: what clients' meters and integrations send.

A batch (at most ``MAX_BATCH`` events) is all or nothing: every event is checked first in
plain Python (a DRF serializer per event costs more than the insert), and one bad event
rejects the batch with every problem listed as ``{"index", "field", "reason"}`` and
nothing written.  Events are idempotent by ``(workspace, transaction_id)``: an event sent
again, or twice in one batch, counts once, so a sender may retry a whole batch safely.

On PostgreSQL the batch is one ``INSERT ... SELECT FROM unnest(...) ON CONFLICT DO
NOTHING RETURNING`` (its rows are the new events); elsewhere (SQLite, ``make run``) a
portable read-then-``bulk_create`` does the same more slowly.

Who may ingest: staff accounts with the ``billing.add_usagerecord`` permission (service
accounts), into the workspaces they may add usage to (superusers: every workspace).
Clients do not bill themselves, so API keys and ordinary members are refused.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import orjson
from dateutil.relativedelta import relativedelta
from django.db import connection, transaction
from django.db.models import Sum
from django.db.models.functions import TruncDate

from core import tenancy
from core.api.errors import ApiError
from core.api.parsers import nesting_depth

from . import clock
from .features import METRIC_OF
from .models import UsageRecord

MAX_BATCH = 1000
MAX_QUANTITY = 10**12  # per event: sums of a period's events stay far inside a bigint
MAX_PROPERTIES_BYTES = 4096
MAX_PROPERTIES_DEPTH = 32  # the API bounds whole bodies at 64 levels
MAX_SOURCE = 40
FIELDS = frozenset({"workspace", "metric", "quantity", "transaction_id", "occurred_at",
                    "properties"})
REQUIRED = ("workspace", "metric", "quantity", "transaction_id", "occurred_at")
_REQUIRED = frozenset(REQUIRED)
_METRIC = re.compile(r"^[-a-zA-Z0-9_]{1,60}$")
_PG_BIGINT = 2**63 - 1
INGEST_PERMISSION = "billing.add_usagerecord"


@dataclass(frozen=True)
class IngestResult:
    received: int  # events in the batch
    accepted: int  # new usage records written
    duplicates: int  # already recorded, or repeated within the batch

    def as_dict(self) -> dict:
        return {"received": self.received, "accepted": self.accepted,
                "duplicates": self.duplicates}


@dataclass(frozen=True)
class _Event:
    workspace_id: int
    metric: str
    quantity: int
    transaction_id: str
    occurred_at: datetime
    properties: str  # JSON text: written as is


def may_ingest(principal: tenancy.Principal) -> bool:
    """Staff service accounts with the add permission; never an API key."""
    user = principal.user
    return (principal.api_key is None and user is not None and user.is_staff
            and user.has_perm(INGEST_PERMISSION))


def require_ingest_permission(principal: tenancy.Principal) -> None:
    if not may_ingest(principal):
        raise ApiError(403, "permission_denied",
                       "Only staff service accounts with the billing.add_usagerecord "
                       "permission may send usage; clients do not report their own usage.")


def ingest(rows, *, source: str = "", principal: tenancy.Principal | None = None
           ) -> IngestResult:
    """Record a batch of usage events; see the module docstring.

    ``principal`` is the caller (the API passes it); None is trusted internal code,
    which may write to any existing workspace.  Raises ``ApiError`` 403 for a caller who
    may not ingest, 400 ``invalid`` with ``errors={"events": [...]}`` for a bad batch.
    """
    if principal is not None:
        require_ingest_permission(principal)
    if not isinstance(source, str) or len(source) > MAX_SOURCE:
        raise ApiError(400, "invalid", f"`source` must be text of at most {MAX_SOURCE} "
                       "characters.", errors={"source": [f"At most {MAX_SOURCE} characters."]})
    if not isinstance(rows, list):
        raise ApiError(400, "invalid", "`events` must be a list of usage events.",
                       errors={"events": ["A list is expected."]})
    if not rows:
        return IngestResult(0, 0, 0)
    if len(rows) > MAX_BATCH:
        raise ApiError(400, "batch_too_large",
                       f"A batch holds at most {MAX_BATCH} events; this one has {len(rows)}.",
                       errors={"events": [f"At most {MAX_BATCH} events per batch."]})
    events, problems = _parse(rows)
    problems += _workspace_problems(events, principal)
    if problems:
        problems.sort(key=lambda p: p["index"])
        count = len({p["index"] for p in problems})
        raise ApiError(400, "invalid",
                       f"{count} of {len(rows)} events are invalid; nothing was recorded.",
                       errors={"events": problems})
    unique: dict[tuple[int, str], _Event] = {}
    for event in events.values():
        unique.setdefault((event.workspace_id, event.transaction_id), event)
    # One lock order for every batch: two batches sharing events cannot deadlock.
    batch = [unique[key] for key in sorted(unique)]
    accepted = _insert(batch, source)
    return IngestResult(len(rows), accepted, len(rows) - accepted)


# --- validation -------------------------------------------------------------------------


def _parse(rows: list) -> tuple[dict[int, _Event], list[dict]]:
    events: dict[int, _Event] = {}
    problems: list[dict] = []
    for index, row in enumerate(rows):
        found = _check(index, row)
        if isinstance(found, _Event):
            events[index] = found
        else:
            problems += found
    return events, problems


def _problem(index: int, field: str, reason: str) -> dict:
    return {"index": index, "field": field, "reason": reason}


def _check(index: int, row) -> _Event | list[dict]:
    if not isinstance(row, dict):
        return [_problem(index, "non_field_errors", "An event must be a JSON object.")]
    problems = []
    keys = row.keys()
    if not keys <= FIELDS:
        problems += [_problem(index, name, "Unknown field.") for name in sorted(keys - FIELDS)]
    if not keys >= _REQUIRED:
        problems += [_problem(index, name, "This field is required.")
                     for name in REQUIRED if name not in row]

    workspace = row.get("workspace")
    if "workspace" in row and (type(workspace) is not int or not 0 < workspace <= _PG_BIGINT):
        problems.append(_problem(index, "workspace", "A workspace id (a positive integer) "
                                                     "is expected."))
    metric = row.get("metric")
    if "metric" in row and (not isinstance(metric, str) or not _METRIC.match(metric)):
        problems.append(_problem(index, "metric", "A metric name of 1-60 letters, digits, "
                                                  "hyphens or underscores is expected."))
    quantity = row.get("quantity")
    if "quantity" in row and (type(quantity) is not int or not 0 <= quantity <= MAX_QUANTITY):
        problems.append(_problem(index, "quantity", "A whole number from 0 to "
                                                    f"{MAX_QUANTITY} is expected."))
    txn = row.get("transaction_id")
    if "transaction_id" in row and (not isinstance(txn, str) or not 0 < len(txn) <= 120
                                    or txn.isspace()):
        problems.append(_problem(index, "transaction_id", "Text of 1-120 characters is "
                                                          "expected."))
    occurred_at = _aware(row.get("occurred_at")) if "occurred_at" in row else None
    if "occurred_at" in row and occurred_at is None:
        problems.append(_problem(index, "occurred_at", "An ISO 8601 date and time with a "
                                                       "UTC offset is expected, e.g. "
                                                       "2026-03-01T12:00:00Z."))
    properties = row.get("properties", {})
    text = ""
    if not isinstance(properties, dict):
        problems.append(_problem(index, "properties", "A JSON object is expected."))
    else:
        try:
            text = orjson.dumps(properties).decode()
        except (TypeError, orjson.JSONEncodeError):
            problems.append(_problem(index, "properties", "Not representable as JSON."))
        else:
            if len(text) > MAX_PROPERTIES_BYTES or "\\u0000" in text:
                problems.append(_problem(index, "properties",
                                         f"At most {MAX_PROPERTIES_BYTES} bytes of JSON "
                                         "without NUL characters."))
            elif text.count("{") + text.count("[") > MAX_PROPERTIES_DEPTH and \
                    nesting_depth(text.encode(), MAX_PROPERTIES_DEPTH) > MAX_PROPERTIES_DEPTH:
                problems.append(_problem(index, "properties", "Nested more than "
                                         f"{MAX_PROPERTIES_DEPTH} levels deep."))
    if txn is not None and isinstance(txn, str) and "\x00" in txn:
        problems.append(_problem(index, "transaction_id", "NUL characters are not allowed."))
    if problems:
        return problems
    return _Event(workspace, metric, quantity, txn, occurred_at, text)


def _aware(value) -> datetime | None:
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    if not 1970 <= parsed.year <= 9998:
        return None
    return parsed


def _workspace_problems(events: dict[int, _Event], principal) -> list[dict]:
    """Events naming a workspace that does not exist or is not the caller's: the same
    reason for both, so ids of other tenants reveal nothing."""
    from workspaces.models import Workspace

    wanted = {e.workspace_id for e in events.values()}
    if not wanted:
        return []
    allowed = None if principal is None else tenancy.workspace_ids(principal, UsageRecord,
                                                                     "add")
    queryset = Workspace.objects.filter(pk__in=wanted)
    if allowed is not None:
        queryset = queryset.filter(pk__in=allowed)
    known = set(queryset.values_list("pk", flat=True))
    return [_problem(index, "workspace", f"No workspace with id {e.workspace_id} of yours.")
            for index, e in events.items() if e.workspace_id not in known]


# --- writing ----------------------------------------------------------------------------


def _insert(batch: list[_Event], source: str) -> int:
    """Write the batch's new events; the number written."""
    if connection.vendor == "postgresql":
        return _insert_postgresql(batch, source)
    return _insert_portable(batch, source)


def _insert_postgresql(batch: list[_Event], source: str) -> int:
    # The batch travels as one JSON document: binding 1,000-element arrays costs more in
    # the driver (client-side quoting of each element) than the insert itself.
    meta = UsageRecord._meta
    col = {f.name: f.column for f in meta.concrete_fields}
    sql = (
        f'INSERT INTO "{meta.db_table}" ("{col["workspace"]}", "{col["metric"]}", '
        f'"{col["quantity"]}", "{col["transaction_id"]}", "{col["occurred_at"]}", '
        f'"{col["recorded_at"]}", "{col["source"]}", "{col["properties"]}") '
        "SELECT r.w, r.m, r.q, r.t, r.o, now(), %s, r.p FROM jsonb_to_recordset(%s::jsonb) "
        "AS r(w bigint, m text, q bigint, t text, o timestamptz, p jsonb) "
        f'ON CONFLICT ("{col["workspace"]}", "{col["transaction_id"]}") DO NOTHING'
    )
    rows = b"[" + b",".join(
        b'{"w":%d,"m":%b,"q":%d,"t":%b,"o":"%b","p":%b}' % (
            e.workspace_id, orjson.dumps(e.metric), e.quantity, orjson.dumps(e.transaction_id),
            e.occurred_at.isoformat().encode(), e.properties.encode())
        for e in batch) + b"]"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [source, rows.decode()])
        return cursor.rowcount


def _insert_portable(batch: list[_Event], source: str) -> int:
    by_workspace: dict[int, list[str]] = {}
    for e in batch:
        by_workspace.setdefault(e.workspace_id, []).append(e.transaction_id)
    with transaction.atomic():
        seen: set[tuple[int, str]] = set()
        for workspace_id, ids in by_workspace.items():
            for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
                seen.update(UsageRecord.objects.filter(
                    workspace_id=workspace_id, transaction_id__in=ids[start:start + 500])
                    .values_list("workspace_id", "transaction_id"))
        new = [UsageRecord(workspace_id=e.workspace_id, metric=e.metric, quantity=e.quantity,
                           transaction_id=e.transaction_id, occurred_at=e.occurred_at,
                           source=source, properties=orjson.loads(e.properties))
               for e in batch if (e.workspace_id, e.transaction_id) not in seen]
        UsageRecord.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
    return len(new)


# --- reading: a workspace's usage per billing period (API summary, admin page) ----------

PERIODS = ("current", "previous")


@dataclass(frozen=True)
class MetricUsage:
    metric: str
    feature: str  # the plan feature metering it ("" for metrics no plan limits)
    used: int
    included: int | None  # None: no plan value (unlimited)
    limit: int | None  # None: unlimited
    overage_price: Decimal  # minor units per unit above ``included``

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)

    @property
    def overage(self) -> int:
        return 0 if self.included is None else max(0, self.used - self.included)

    @property
    def overage_amount(self) -> Decimal:
        """Minor units, unrounded (the invoice rounds each line once)."""
        return self.overage * self.overage_price

    def as_dict(self) -> dict:
        return {"metric": self.metric, "feature": self.feature, "used": self.used,
                "included": self.included, "limit": self.limit, "remaining": self.remaining,
                "overage": self.overage, "overage_price": self.overage_price,
                "overage_amount": self.overage_amount}


@dataclass(frozen=True)
class UsageSummary:
    workspace_id: int
    period: str
    start: datetime
    end: datetime
    metrics: list[MetricUsage]
    daily: list[dict] = field(default_factory=list)  # {"day", "metric", "quantity"}

    def as_dict(self) -> dict:
        return {"workspace": self.workspace_id, "period": self.period, "start": self.start,
                "end": self.end, "metrics": [m.as_dict() for m in self.metrics],
                "daily": self.daily}


def usage_summary(workspace_id: int, *, period: str = "current", metric: str | None = None,
                  now: datetime | None = None) -> UsageSummary:
    """Totals per metric in the workspace's current or previous billing period, with the
    plan's included amount, limit and overage, and the usage per UTC day."""
    start, end = period_bounds(workspace_id, period, now=now)
    totals = _totals(workspace_id, start, end, metric)
    plan = _plan_values(workspace_id, now)
    names = set(totals) | ({metric} if metric else set(METRIC_OF.values()))
    feature_of = {m: f for f, m in METRIC_OF.items()}
    metrics = []
    for name in sorted(names):
        feature = feature_of.get(name, "")
        value = plan.get(feature)
        metrics.append(MetricUsage(
            metric=name, feature=feature, used=totals.get(name, 0),
            included=None if value is None else value[1],
            limit=None if value is None else value[0],
            overage_price=Decimal(0) if value is None else Decimal(value[2])))
    return UsageSummary(workspace_id, period, start, end, metrics,
                        _daily(workspace_id, start, end, metric))


def period_bounds(workspace_id: int, period: str = "current", *, now: datetime | None = None
                  ) -> tuple[datetime, datetime]:
    """``[start, end)`` of the workspace's current or previous billing period."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}")
    now = now or clock.now(workspace_id)
    start, end = _period_of(workspace_id, now)
    if period == "current":
        return start, end
    live = _live_subscription(workspace_id)
    if live is None:
        return _calendar_month(start - timedelta(microseconds=1))
    # One interval back from the current period's start, on the subscription's anchor day.
    interval, metadata = live
    previous = start - relativedelta(months=12 if interval == "year" else 1)
    anchor = metadata.get("anchor_day") if isinstance(metadata, dict) else None
    if isinstance(anchor, int) and 1 <= anchor <= 31:
        previous = previous.replace(
            day=min(anchor, calendar.monthrange(previous.year, previous.month)[1]))
    return previous, start


def _period_of(workspace_id: int, now: datetime) -> tuple[datetime, datetime]:
    try:
        from billing.entitlements import period_of
    except ImportError:  # before H1's module: the UTC calendar month
        return _calendar_month(now)
    return period_of(workspace_id, now)


def _calendar_month(now: datetime) -> tuple[datetime, datetime]:
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start, start + relativedelta(months=1)


def _live_subscription(workspace_id: int) -> tuple[str, dict] | None:
    """The live subscription's plan interval and metadata (its anchor day)."""
    from .models import Subscription

    return (Subscription.objects.filter(workspace_id=workspace_id,
                                        status__in=Subscription.LIVE)
            .values_list("plan__interval", "metadata").first())


def _plan_values(workspace_id: int, now: datetime | None) -> dict[str, tuple]:
    """``{feature: (limit, included, overage_price)}`` for the metered features."""
    try:
        from billing.entitlements import values
    except ImportError:
        return _plan_values_fallback(workspace_id)
    found = values(workspace_id, now)
    return {key: (v.limit, v.included, v.overage_price) for key, v in found.items()
            if key in METRIC_OF and v.source != "unlimited"}


def _plan_values_fallback(workspace_id: int) -> dict[str, tuple]:
    """The live subscription's plan, else the default plan (no overrides): what
    billing.entitlements answers, until that module exists."""
    from .models import Plan, PlanFeature, Subscription

    plan_id = (Subscription.objects.filter(workspace_id=workspace_id,
                                           status__in=Subscription.LIVE)
               .values_list("plan_id", flat=True).first())
    if plan_id is None:
        plan_id = Plan.objects.filter(is_default=True).values_list("pk", flat=True).first()
    if plan_id is None:
        return {}
    rows = (PlanFeature.objects.filter(plan_id=plan_id, feature__key__in=list(METRIC_OF))
            .values_list("feature__key", "limit", "included", "overage_price"))
    return {key: (limit, included, price) for key, limit, included, price in rows}


def _records(workspace_id: int, start: datetime, end: datetime, metric: str | None):
    queryset = UsageRecord.objects.filter(workspace_id=workspace_id, occurred_at__gte=start,
                                          occurred_at__lt=end)
    return queryset.filter(metric=metric) if metric else queryset


def _totals(workspace_id, start, end, metric) -> dict[str, int]:
    rows = (_records(workspace_id, start, end, metric).order_by()
            .values("metric").annotate(total=Sum("quantity")))
    return {row["metric"]: int(row["total"] or 0) for row in rows}


def _daily(workspace_id, start, end, metric) -> list[dict]:
    rows = (_records(workspace_id, start, end, metric).order_by()
            .annotate(day=TruncDate("occurred_at", tzinfo=UTC))
            .values("day", "metric").annotate(quantity=Sum("quantity"))
            .order_by("day", "metric"))
    return [{"day": _as_date(row["day"]), "metric": row["metric"],
             "quantity": int(row["quantity"] or 0)} for row in rows]


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
