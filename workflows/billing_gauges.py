"""What workflows count towards plan limits: enabled schedule triggers are ``schedules``
(``billing.entitlements``; executions are metered where they start).  Registered from
``WorkflowsConfig.ready``."""

from __future__ import annotations

from billing.entitlements import register_gauge


def schedules(workspace_id: int) -> int:
    from .models import Trigger

    return Trigger.objects.filter(workspace_id=workspace_id, kind=Trigger.Kind.SCHEDULE,
                                  enabled=True).count()


# Registered on import (the app's ready() imports this module).
register_gauge("schedules", schedules)
