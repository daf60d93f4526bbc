"""Recompute the CRM's daily rollups of a range of UTC days: the call metrics
(CallDailyMetric, by default), the user KPIs (UserDailyKpi, ``--table user-kpis``) or
both (``--table all``)."""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.api.errors import ApiError
from crm.services import rollups
from workspaces.models import Workspace

_CALLS = ("calls", rollups.rollup)
_USER_KPIS = ("user KPIs", rollups.rollup_user_kpis)
TABLES = {"calls": [_CALLS], "user-kpis": [_USER_KPIS], "all": [_CALLS, _USER_KPIS]}


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from exc


class Command(BaseCommand):
    help = ("Recompute the daily call rollups (per workspace, UTC day and agent) and/or the "
            "user KPIs (per CRM user) from the calls, customers and follow-ups; running it "
            "again over the same days changes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", help="First UTC day (default: yesterday).")
        parser.add_argument("--to", dest="end", help="Last UTC day (default: --from).")
        parser.add_argument("--workspace", default="", help="Workspace slug (default: all).")
        parser.add_argument("--table", choices=sorted(TABLES), default="calls",
                            help="calls (default), user-kpis, or all.")

    def handle(self, *args, start, end, workspace, table, **options):
        first = _day(start) if start else timezone.now().date() - timedelta(days=1)
        last = _day(end) if end else first
        workspace_id = None
        if workspace:
            workspace_id = (Workspace.objects.filter(slug=workspace)
                            .values_list("pk", flat=True).first())
            if workspace_id is None:
                raise CommandError(f"No workspace with slug {workspace!r}.")
        for name, run in TABLES[table]:
            try:
                stats = run(first, last, workspace_id=workspace_id)
            except ApiError as exc:
                raise CommandError(exc.message) from exc
            label = f"{name} " if name != "calls" else ""
            self.stdout.write(f"{label}{first}..{last}: {stats['created']} created, "
                              f"{stats['updated']} updated, {stats['deleted']} deleted, "
                              f"{stats['unchanged']} unchanged")
