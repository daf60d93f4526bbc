"""Factory of product events (import it in tests/factories/__init__.py)."""

import uuid

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from analytics.models import Event

from .workspaces import WorkspaceFactory


class EventFactory(DjangoModelFactory):
    class Meta:
        model = Event

    workspace = factory.SubFactory(WorkspaceFactory)
    uuid = factory.LazyFunction(uuid.uuid4)
    name = factory.Sequence(lambda n: f"page_viewed_{n % 5}")
    distinct_id = factory.Sequence(lambda n: f"person-{n}")
    session_id = factory.Sequence(lambda n: f"session-{n // 3}")
    properties = factory.LazyFunction(lambda: {"path": "/pricing", "plan": "pro"})
    timestamp = factory.LazyFunction(timezone.now)
    received_at = factory.LazyFunction(timezone.now)
