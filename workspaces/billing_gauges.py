"""What workspaces count towards plan limits (``billing.entitlements`` gauges): seats
(members plus pending, unexpired invitations: an invitation holds its seat) and the bytes
of stored files.  Registered from ``WorkspacesConfig.ready``."""

from __future__ import annotations

from django.db.models import Sum
from django.utils import timezone

from billing.entitlements import register_gauge


def seats(workspace_id: int) -> int:
    from .models import Invitation, Membership

    members = Membership.objects.filter(workspace_id=workspace_id).count()
    pending = Invitation.objects.filter(workspace_id=workspace_id,
                                        status=Invitation.Status.PENDING,
                                        expires_at__gt=timezone.now()).count()
    return members + pending


def file_bytes(workspace_id: int) -> int:
    from .models import File

    total = File.objects.filter(workspace_id=workspace_id).aggregate(n=Sum("size"))["n"]
    return int(total or 0)


# Registered on import (the app's ready() imports this module).
register_gauge("seats", seats)
register_gauge("storage_bytes", file_bytes)
