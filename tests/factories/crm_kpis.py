"""Factories of the CRM's user KPI rollups and per-workspace settings (import them in
tests/factories/__init__.py)."""

from datetime import date
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from crm.models import CrmSettings
from crm.models.rollups import UserDailyKpi

from .accounts import UserFactory
from .workspaces import WorkspaceFactory


class UserDailyKpiFactory(DjangoModelFactory):
    class Meta:
        model = UserDailyKpi

    workspace = factory.SubFactory(WorkspaceFactory)
    day = factory.Sequence(lambda n: date.fromordinal(date(2026, 1, 1).toordinal() + n))
    user = factory.SubFactory(UserFactory)
    calls = 12
    connected = 7
    talk_time_seconds = 1260
    conversions = 1
    follow_ups_done = 3
    follow_ups_overdue = 1
    cost = Decimal("1.4400")
    credits = Decimal("140.0000")
    computed_at = factory.LazyFunction(timezone.now)


class CrmSettingsFactory(DjangoModelFactory):
    """The workspace's CRM settings, without a refining agent (rules-only scores)."""

    class Meta:
        model = CrmSettings

    workspace = factory.SubFactory(WorkspaceFactory)
    lead_score_max_adjustment = 15
