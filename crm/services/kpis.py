"""User KPIs (``UserDailyKpi``): the predecessor's ``user_daily_analytics`` and
``user_kpi_summary`` computed from the calls, customers and follow-ups per workspace,
UTC day and CRM user, written by the rollup service's upsert (``rollups.write``).

Who a thing counts for:

* a call: the user who placed it, else its contact's owner (the dialer and inbound calls
  place calls for nobody); counted on the UTC day it was created.  ``connected``: calls
  answered (completed); ``talk_time_seconds``: their durations summed; ``cost`` and
  ``credits`` (``credits_charged``) sum every call of the row;
* a conversion: the user of the contact's latest completed call at or before it, as the
  call metrics attribute it to that call's agent (no such call: no row counts it);
* a follow-up: its assignee.  ``follow_ups_done``: completed that day;
  ``follow_ups_overdue``: due that day (and already past due) but not done by then,
  whether still open or done late; cancelled ones never count.

The row whose user is empty holds what belongs to nobody.  Each figure is a property of
the day itself, so recomputing a past day gives the same row.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date
from decimal import Decimal

from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from ..models import Call, Customer, FollowUp
from ..models.rollups import UserDailyKpi
from .rollups import Table, bounds

VALUES = ("calls", "connected", "talk_time_seconds", "conversions", "follow_ups_done",
          "follow_ups_overdue", "cost", "credits")
TABLE = Table(UserDailyKpi, "user_id", VALUES, 0x63726D55)  # "crmU"


def call_user():
    """The user a call counts for: its placer, else its contact's owner."""
    return Coalesce("placed_by_id", "contact__owner_id")


def _zero() -> dict:
    return {"calls": 0, "connected": 0, "talk_time_seconds": 0, "conversions": 0,
            "follow_ups_done": 0, "follow_ups_overdue": 0, "cost": Decimal("0"),
            "credits": Decimal("0")}


def _scoped(queryset, workspace_id):
    return queryset if workspace_id is None else queryset.filter(workspace_id=workspace_id)


def compute(start_day: date, end_day: date, workspace_id: int | None = None) -> dict:
    """{(workspace_id, day, user_id): values} straight from the source rows."""
    start, end = bounds(start_day, end_day)
    rows: dict = defaultdict(_zero)
    _add_calls(rows, start, end, workspace_id)
    _add_conversions(rows, start, end, workspace_id)
    _add_follow_ups(rows, start, end, workspace_id)
    return dict(rows)


def _add_calls(rows: dict, start, end, workspace_id) -> None:
    completed = Q(status=Call.Status.COMPLETED)
    calls = (_scoped(Call.objects.filter(created_at__gte=start, created_at__lt=end),
                     workspace_id)
             .annotate(day=TruncDate("created_at", tzinfo=UTC), user=call_user())
             .values("workspace_id", "day", "user")
             .annotate(n=Count("id"), connected=Count("id", filter=completed),
                       talk=Sum("duration_seconds", filter=completed), cost=Sum("cost"),
                       credits=Sum("credits_charged"))
             .order_by())
    for g in calls:
        rows[(g["workspace_id"], g["day"], g["user"])].update(
            calls=g["n"], connected=g["connected"], talk_time_seconds=g["talk"] or 0,
            cost=Decimal(g["cost"] or 0), credits=Decimal(g["credits"] or 0))


def _add_conversions(rows: dict, start, end, workspace_id) -> None:
    last_call = (Call.objects.filter(contact_id=OuterRef("contact_id"),
                                     status=Call.Status.COMPLETED,
                                     created_at__lte=OuterRef("converted_at"))
                 .annotate(user=call_user()).order_by("-created_at", "-id"))
    converted = (_scoped(Customer.objects.filter(converted_at__gte=start,
                                                 converted_at__lt=end), workspace_id)
                 .annotate(call_id=Subquery(last_call.values("pk")[:1]),
                           user=Subquery(last_call.values("user")[:1]),
                           day=TruncDate("converted_at", tzinfo=UTC))
                 .filter(call_id__isnull=False)
                 .values_list("workspace_id", "day", "user"))
    for key in converted:
        rows[key]["conversions"] += 1


def _add_follow_ups(rows: dict, start, end, workspace_id) -> None:
    follow_ups = _scoped(FollowUp.objects.all(), workspace_id)
    done = (follow_ups.filter(status=FollowUp.Status.DONE, completed_at__gte=start,
                              completed_at__lt=end)
            .annotate(day=TruncDate("completed_at", tzinfo=UTC))
            .values("workspace_id", "day", "assignee_id").annotate(n=Count("id")).order_by())
    for g in done:
        rows[(g["workspace_id"], g["day"], g["assignee_id"])]["follow_ups_done"] = g["n"]
    # Only what is already past due can be overdue (today's later ones are not yet).
    overdue = (follow_ups.filter(due_at__gte=start, due_at__lt=min(end, timezone.now()))
               .exclude(status=FollowUp.Status.CANCELLED)
               .filter(Q(status=FollowUp.Status.OPEN) | Q(completed_at__gt=F("due_at")))
               .annotate(day=TruncDate("due_at", tzinfo=UTC))
               .values("workspace_id", "day", "assignee_id").annotate(n=Count("id"))
               .order_by())
    for g in overdue:
        rows[(g["workspace_id"], g["day"], g["assignee_id"])]["follow_ups_overdue"] = g["n"]


def totals(rows) -> dict:
    """The sums of ``rows`` (user KPIs) with the connect rate."""
    out = {field: sum((getattr(r, field) for r in rows),
                      Decimal("0") if field in ("cost", "credits") else 0)
           for field in VALUES}
    out["connect_rate"] = ((Decimal(out["connected"]) / out["calls"]).quantize(
        Decimal("0.0001")) if out["calls"] else Decimal("0"))
    return out
