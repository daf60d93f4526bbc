"""What reports count towards plan limits: scheduled definitions (enabled, with a cron)
are ``schedules`` (``billing.entitlements``).  Registered from ``ReportsConfig.ready``."""

from __future__ import annotations

from billing.entitlements import register_gauge


def schedules(workspace_id: int) -> int:
    from .models import ReportDefinition

    return (ReportDefinition.objects.filter(workspace_id=workspace_id, enabled=True)
            .exclude(schedule_cron="").count())


# Registered on import (the app's ready() imports this module).
register_gauge("schedules", schedules)
