"""What agents count towards plan limits (``billing.entitlements`` gauges): agents not
archived, and the typed text of knowledge documents as stored bytes (an uploaded file
counts once, as the workspace file it is).  Registered from ``AgentsConfig.ready``."""

from __future__ import annotations

from django.db.models import Sum
from django.db.models.functions import Length

from billing.entitlements import register_gauge


def agents(workspace_id: int) -> int:
    from .models import Agent

    return (Agent.objects.filter(workspace_id=workspace_id)
            .exclude(status=Agent.Status.ARCHIVED).count())


def document_bytes(workspace_id: int) -> int:
    from .models import Document

    total = (Document.objects.filter(workspace_id=workspace_id, file__isnull=True)
             .aggregate(n=Sum(Length("text")))["n"])
    return int(total or 0)


# Registered on import (the app's ready() imports this module).
register_gauge("agents", agents)
register_gauge("storage_bytes", document_bytes)
