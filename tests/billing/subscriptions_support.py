"""Helpers of the subscription, coupon and test-clock tests: a workspace with one member
per role on a test clock, billing staff, and the domain events a change announces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from billing.events import SUBSCRIPTION_CHANGED
from core import events
from tests.factories import MembershipFactory, TestClockFactory, UserFactory, WorkspaceFactory
from workspaces.models import Activity


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class Team:
    workspace: object
    users: dict  # role -> user

    def client(self, role: str) -> APIClient:
        client = APIClient()
        client.force_login(self.users[role])
        return client


def team(*, clock_at: datetime | None = None) -> Team:
    """A workspace with an owner, an admin, a member and a viewer (and a test clock)."""
    workspace = WorkspaceFactory()
    users = {}
    for role in ("owner", "admin", "member", "viewer"):
        users[role] = UserFactory()
        MembershipFactory(workspace=workspace, user=users[role], role=role)
    if clock_at is not None:
        TestClockFactory(workspace=workspace, frozen_time=clock_at)
    return Team(workspace, users)


def billing_staff(*codenames: str, **extra):
    """Staff (not superuser) holding the given billing permissions."""
    user = UserFactory(is_staff=True, **extra)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="billing",
                                                         codename__in=codenames))
    return user


def timeline(sub) -> list[str]:
    """The subscription's activity verbs, oldest first."""
    return list(Activity.objects.filter(target_type="billing.subscription",
                                        target_id=str(sub.pk)).order_by("id")
                .values_list("verb", flat=True))


@pytest.fixture
def announced(monkeypatch):
    """The SUBSCRIPTION_CHANGED payloads emitted while the test runs (emitted, not yet
    dispatched: dispatch waits for the commit that the test's transaction never makes)."""
    seen = []
    emit = events.emit

    def recording(name, payload, **kwargs):
        if name == SUBSCRIPTION_CHANGED:
            seen.append(payload)
        return emit(name, payload, **kwargs)

    monkeypatch.setattr(events, "emit", recording)
    return seen
