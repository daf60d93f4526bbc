"""Call analytics rollups (``CallDailyMetric``): the predecessor's trigger-maintained
tables (``agent_analytics``, ``call_analytics_cache``, ``user_daily_analytics``…)
computed from the calls instead, per workspace, UTC day and agent.

* A call counts on the UTC day it was created.  ``connected``: calls that were answered
  (status completed); ``avg_duration_seconds``: average duration of the connected calls;
  ``total_duration_seconds``, ``cost`` and ``credits`` (``credits_charged``) sum every
  call of the row.
* ``conversions``: customers converted that UTC day, each counted for the agent of the
  contact's latest completed call at or before the conversion (a conversion without
  such a call is not attributed to any row).
* The row with no agent holds the calls placed without one.  Totals are sums of rows.

``rollup(start_day, end_day, workspace_id=None)`` recomputes every day of the range
(inclusive) in one transaction under an advisory lock: new rows are inserted, changed
rows updated (``computed_at`` moves), rows of days that no longer have calls deleted,
and rows that come out the same are left alone — running it again changes nothing.
Beat runs it nightly for yesterday (``crm.tasks_leads.rollup_yesterday``);
``manage.py crm_rollup --from --to`` recomputes a range.

``write(table, wanted, …)`` is that upsert for any daily table keyed by (workspace, day,
one more column): the user KPIs (``UserDailyKpi``, computed in ``crm.services.kpis``)
go through it too (``rollup_user_kpis``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from core.api.errors import ApiError

from ..models import Call, Customer
from ..models.rollups import CallDailyMetric

MAX_DAYS = 3660
VALUES = ("calls", "connected", "total_duration_seconds", "avg_duration_seconds", "cost",
          "credits", "conversions")
_LOCK_KEY = 0x63726D52  # "crmR": one rollup writer at a time


def bounds(start_day: date, end_day: date) -> tuple[datetime, datetime]:
    if start_day is None or end_day is None or start_day > end_day:
        raise ApiError(400, "invalid", "The range needs a start day on or before its end day.",
                       errors={"from": ["On or before 'to'."]})
    if (end_day - start_day).days >= MAX_DAYS:
        raise ApiError(400, "invalid", f"At most {MAX_DAYS} days at once.",
                       errors={"to": [f"At most {MAX_DAYS} days after 'from'."]})
    return (datetime.combine(start_day, time.min, tzinfo=UTC),
            datetime.combine(end_day + timedelta(days=1), time.min, tzinfo=UTC))


def _zero() -> dict:
    return {"calls": 0, "connected": 0, "total_duration_seconds": 0,
            "connected_duration": 0, "cost": Decimal("0"), "credits": Decimal("0"),
            "conversions": 0}


def compute(start_day: date, end_day: date, workspace_id: int | None = None) -> dict:
    """{(workspace_id, day, agent_id): values} straight from the calls and customers."""
    start, end = bounds(start_day, end_day)
    calls = Call.objects.filter(created_at__gte=start, created_at__lt=end)
    customers = Customer.objects.filter(converted_at__gte=start, converted_at__lt=end)
    if workspace_id is not None:
        calls = calls.filter(workspace_id=workspace_id)
        customers = customers.filter(workspace_id=workspace_id)
    completed = Q(status=Call.Status.COMPLETED)
    rows: dict = defaultdict(_zero)
    grouped = (calls.annotate(day=TruncDate("created_at", tzinfo=UTC))
               .values("workspace_id", "day", "agent_id")
               .annotate(n=Count("id"), connected=Count("id", filter=completed),
                         duration=Sum("duration_seconds"),
                         connected_duration=Sum("duration_seconds", filter=completed),
                         cost=Sum("cost"), credits=Sum("credits_charged"))
               .order_by())
    for g in grouped:
        row = rows[(g["workspace_id"], g["day"], g["agent_id"])]
        row.update(calls=g["n"], connected=g["connected"],
                   total_duration_seconds=g["duration"] or 0,
                   connected_duration=g["connected_duration"] or 0,
                   cost=g["cost"] or Decimal("0"), credits=g["credits"] or Decimal("0"))
    last_call = (Call.objects.filter(contact_id=OuterRef("contact_id"),
                                     status=Call.Status.COMPLETED,
                                     created_at__lte=OuterRef("converted_at"))
                 .order_by("-created_at", "-id"))
    attributed = (customers.annotate(call_id=Subquery(last_call.values("pk")[:1]),
                                     agent_id=Subquery(last_call.values("agent_id")[:1]),
                                     day=TruncDate("converted_at", tzinfo=UTC))
                  .filter(call_id__isnull=False)
                  .values_list("workspace_id", "day", "agent_id"))
    for key in attributed:
        rows[key]["conversions"] += 1
    out = {}
    for key, row in rows.items():
        avg = (Decimal(row["connected_duration"]) / row["connected"]).quantize(
            Decimal("0.01")) if row["connected"] else Decimal("0.00")
        out[key] = {"calls": row["calls"], "connected": row["connected"],
                    "total_duration_seconds": row["total_duration_seconds"],
                    "avg_duration_seconds": avg, "cost": Decimal(row["cost"]),
                    "credits": Decimal(row["credits"]), "conversions": row["conversions"]}
    return out


@dataclass(frozen=True)
class Table:
    """A daily rollup table: its model, the column after (workspace, day) that keys a
    row, the value columns, and the advisory lock its writers take."""

    model: type
    key: str
    values: tuple[str, ...]
    lock: int


CALLS = Table(CallDailyMetric, "agent_id", VALUES, _LOCK_KEY)


def _same(row, values: dict, fields: tuple[str, ...]) -> bool:
    return all(Decimal(getattr(row, f)) == Decimal(values[f]) for f in fields)


def write(table: Table, wanted: dict, start_day: date, end_day: date,
          workspace_id: int | None = None) -> dict:
    """Make ``table``'s rows of ``start_day``..``end_day`` equal ``wanted``
    ({(workspace_id, day, key): values}): counts of rows created, updated, deleted and
    unchanged.  One transaction under the table's advisory lock."""
    model, now = table.model, timezone.now()
    stats = {"created": 0, "updated": 0, "deleted": 0, "unchanged": 0}
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [table.lock])
        existing = model.objects.select_for_update().filter(day__gte=start_day,
                                                            day__lte=end_day)
        if workspace_id is not None:
            existing = existing.filter(workspace_id=workspace_id)
        stale = []
        for row in existing:
            values = wanted.pop((row.workspace_id, row.day, getattr(row, table.key)), None)
            if values is None:
                stale.append(row.pk)
            elif _same(row, values, table.values):
                stats["unchanged"] += 1
            else:
                for field, value in values.items():
                    setattr(row, field, value)
                row.computed_at = now
                row.save(update_fields=[*table.values, "computed_at"])
                stats["updated"] += 1
        if stale:
            stats["deleted"] = model.objects.filter(pk__in=stale).delete()[0]
        model.objects.bulk_create([
            model(workspace_id=ws, day=day, computed_at=now, **{table.key: key}, **values)
            for (ws, day, key), values in sorted(wanted.items(),
                                                 key=lambda kv: (kv[0][0], kv[0][1],
                                                                 kv[0][2] or 0))])
        stats["created"] = len(wanted)
    return stats


def rollup(start_day: date, end_day: date, workspace_id: int | None = None) -> dict:
    """Recompute the call metrics of ``start_day``..``end_day`` (UTC, inclusive); counts
    of rows created, updated, deleted and unchanged."""
    return write(CALLS, compute(start_day, end_day, workspace_id), start_day, end_day,
                 workspace_id)


def rollup_user_kpis(start_day: date, end_day: date, workspace_id: int | None = None) -> dict:
    """The same for the user KPIs (``crm.services.kpis``)."""
    from . import kpis

    return write(kpis.TABLE, kpis.compute(start_day, end_day, workspace_id), start_day,
                 end_day, workspace_id)


def totals(rows) -> dict:
    """The sums of ``rows`` (metrics), with the connect rate and the average duration of
    connected calls weighted by the calls."""
    calls = sum(r.calls for r in rows)
    connected = sum(r.connected for r in rows)
    connected_seconds = sum(r.avg_duration_seconds * r.connected for r in rows)
    return {
        "calls": calls, "connected": connected,
        "connect_rate": (Decimal(connected) / calls).quantize(Decimal("0.0001"))
        if calls else Decimal("0"),
        "total_duration_seconds": sum(r.total_duration_seconds for r in rows),
        "avg_duration_seconds": (Decimal(connected_seconds) / connected).quantize(
            Decimal("0.01")) if connected else Decimal("0.00"),
        "cost": sum((r.cost for r in rows), Decimal("0")),
        "credits": sum((r.credits for r in rows), Decimal("0")),
        "conversions": sum(r.conversions for r in rows),
    }
