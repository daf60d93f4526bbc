"""Commands that recompute something over a range of UTC days for one workspace or all
(the rollups of analytics and the CRM): ``--from``, ``--to``, ``--workspace SLUG``."""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from workspaces.models import Workspace


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from exc


class DayRangeCommand(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", help="First UTC day (default: yesterday).")
        parser.add_argument("--to", dest="end", help="Last UTC day (default: --from).")
        parser.add_argument("--workspace", default="", help="Workspace slug (default: all).")

    def day_range(self, start: str | None, end: str | None,
                  workspace: str) -> tuple[date, date, int | None]:
        """(first day, last day, workspace id or None for all) from the options."""
        first = _day(start) if start else timezone.now().date() - timedelta(days=1)
        last = _day(end) if end else first
        workspace_id = None
        if workspace:
            workspace_id = (Workspace.objects.filter(slug=workspace)
                            .values_list("pk", flat=True).first())
            if workspace_id is None:
                raise CommandError(f"No workspace with slug {workspace!r}.")
        return first, last, workspace_id
