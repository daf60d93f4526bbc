"""Recompute the CRM's daily rollups of a range of UTC days: the call metrics
(CallDailyMetric, by default), the user KPIs (UserDailyKpi, ``--table user-kpis``) or
both (``--table all``)."""

from django.core.management.base import CommandError

from core.api.errors import ApiError
from crm.services import rollups
from workspaces.management.day_range import DayRangeCommand

_CALLS = ("calls", rollups.rollup)
_USER_KPIS = ("user KPIs", rollups.rollup_user_kpis)
TABLES = {"calls": [_CALLS], "user-kpis": [_USER_KPIS], "all": [_CALLS, _USER_KPIS]}


class Command(DayRangeCommand):
    help = ("Recompute the daily call rollups (per workspace, UTC day and agent) and/or the "
            "user KPIs (per CRM user) from the calls, customers and follow-ups; running it "
            "again over the same days changes nothing.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--table", choices=sorted(TABLES), default="calls",
                            help="calls (default), user-kpis, or all.")

    def handle(self, *args, start, end, workspace, table, **options):
        first, last, workspace_id = self.day_range(start, end, workspace)
        for name, run in TABLES[table]:
            try:
                stats = run(first, last, workspace_id=workspace_id)
            except ApiError as exc:
                raise CommandError(exc.message) from exc
            label = f"{name} " if name != "calls" else ""
            self.stdout.write(f"{label}{first}..{last}: {stats['created']} created, "
                              f"{stats['updated']} updated, {stats['deleted']} deleted, "
                              f"{stats['unchanged']} unchanged")
