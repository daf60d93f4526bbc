"""Recompute the product-analytics rollups (people per day, business figures per day,
people's insights) of a range of UTC days from the events."""

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics.services import rollups
from workspaces.models import Workspace


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from exc


class Command(BaseCommand):
    help = ("Recompute the analytics rollups (UserBehaviorMetric, BusinessMetric, "
            "UserInsight) of a range of UTC days from the events; running it again over "
            "the same days changes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", help="First UTC day (default: yesterday).")
        parser.add_argument("--to", dest="end", help="Last UTC day (default: --from).")
        parser.add_argument("--workspace", default="", help="Workspace slug (default: all).")

    def handle(self, *args, start, end, workspace, **options):
        first = _day(start) if start else timezone.now().date() - timedelta(days=1)
        last = _day(end) if end else first
        workspace_id = None
        if workspace:
            workspace_id = (Workspace.objects.filter(slug=workspace)
                            .values_list("pk", flat=True).first())
            if workspace_id is None:
                raise CommandError(f"No workspace with slug {workspace!r}.")
        try:
            stats = rollups.rollup_range(first, last, workspace=workspace_id)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        for table, counts in stats.items():
            self.stdout.write(f"{table} {first}..{last}: {counts['created']} created, "
                              f"{counts['updated']} updated, {counts['unchanged']} unchanged")
