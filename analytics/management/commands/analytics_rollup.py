"""Recompute the product-analytics rollups (people per day, business figures per day,
people's insights) of a range of UTC days from the events."""

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from analytics.services import rollups
from workspaces.management.day_range import DayRangeCommand


class Command(DayRangeCommand):
    help = ("Recompute the analytics rollups (UserBehaviorMetric, BusinessMetric, "
            "UserInsight) of a range of UTC days from the events; running it again over "
            "the same days changes nothing.")

    def handle(self, *args, start, end, workspace, **options):
        first, last, workspace_id = self.day_range(start, end, workspace)
        try:
            stats = rollups.rollup_range(first, last, workspace=workspace_id)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        for table, counts in stats.items():
            self.stdout.write(f"{table} {first}..{last}: {counts['created']} created, "
                              f"{counts['updated']} updated, {counts['unchanged']} unchanged")
