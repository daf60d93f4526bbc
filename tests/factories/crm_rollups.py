"""Factory of the CRM call rollups (import it in tests/factories/__init__.py)."""

from datetime import date
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from crm.models.rollups import CallDailyMetric

from .agents import AgentFactory
from .workspaces import SAME_WORKSPACE, WorkspaceFactory


class CallDailyMetricFactory(DjangoModelFactory):
    class Meta:
        model = CallDailyMetric

    workspace = factory.SubFactory(WorkspaceFactory)
    day = factory.Sequence(lambda n: date.fromordinal(date(2026, 1, 1).toordinal() + n))
    agent = factory.SubFactory(AgentFactory, workspace=SAME_WORKSPACE, kind="voice")
    calls = 10
    connected = 6
    total_duration_seconds = 900
    avg_duration_seconds = Decimal("150.00")
    cost = Decimal("1.2000")
    credits = Decimal("120.0000")
    conversions = 1
    computed_at = factory.LazyFunction(timezone.now)
