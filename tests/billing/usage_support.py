"""What the usage tests share: a staff service account allowed to ingest, event bodies."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from tests.factories import MembershipFactory, UserFactory

BATCH_URL = "/api/v1/billing/usage/batch/"
SUMMARY_URL = "/api/v1/billing/usage/summary/"


def event(workspace, txn: str, *, metric: str = "executions", quantity: int = 1,
          occurred_at: str = "2026-03-10T12:00:00Z", **extra) -> dict:
    return {"workspace": workspace.pk if hasattr(workspace, "pk") else workspace,
            "metric": metric, "quantity": quantity, "transaction_id": txn,
            "occurred_at": occurred_at, **extra}


def service_account(*workspaces, perm: bool = True, staff: bool = True):
    """A staff user with ``billing.add_usagerecord``, member of ``workspaces``."""
    user = UserFactory(is_staff=staff)
    if perm:
        user.user_permissions.add(Permission.objects.get(
            content_type__app_label="billing", codename="add_usagerecord"))
    for workspace in workspaces:
        MembershipFactory(workspace=workspace, user=user, role="member")
    return user


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client
