"""Factories for the marketplace: components (free and published by default), versions
with a valid workflow payload, ratings, purchases, installations and downloads.

A purchase made by ``ComponentPurchaseFactory`` also grants its workspace the credits
the component costs, so a test (or the generic contract tests) can buy the same
component again through the service and pay for it.
"""

from __future__ import annotations

import factory
from django.db.models import Max
from factory.django import DjangoModelFactory

from marketplace import models as m
from workflows.snapshot import checksum

from .accounts import UserFactory
from .workflows import WorkflowFactory
from .workspaces import SAME_WORKSPACE, WorkspaceFactory


def workflow_payload(name: str, *, greeting: str = "hello", extra_node: bool = False) -> dict:
    """A workflow export (``workflow_export``'s format) that imports and publishes."""
    nodes = [
        {"key": "start", "type": "trigger", "name": "Start", "config": {},
         "retry_policy": None, "timeout": None, "continue_on_fail": False, "disabled": False,
         "position": [0, 0]},
        {"key": "greet", "type": "set_values", "name": "Greet",
         "config": {"values": {"greeting": greeting}}, "retry_policy": None, "timeout": None,
         "continue_on_fail": False, "disabled": False, "position": [200, 0]},
    ]
    connections = [{"source": "start", "source_output": "main", "target": "greet",
                    "target_input": "main"}]
    if extra_node:
        nodes.append({"key": "shout", "type": "set_values", "name": "Shout",
                      "config": {"values": {"loud": "{{ nodes.greet.output.greeting }}"}},
                      "retry_policy": None, "timeout": None, "continue_on_fail": False,
                      "disabled": False, "position": [400, 0]})
        connections.append({"source": "greet", "source_output": "main", "target": "shout",
                            "target_input": "main"})
    return {"format": "synapscale.workflow/1", "name": name,
            "description": "Greets whoever triggers it", "metadata": {},
            "graph": {"nodes": nodes, "connections": connections,
                      "settings": {"execution_timeout": 600, "retry_policy": {},
                                   "concurrency_limit": None, "timezone": "UTC",
                                   "input_schema": {}}}}


class MarketplaceComponentFactory(DjangoModelFactory):
    class Meta:
        model = m.MarketplaceComponent

    name = factory.Sequence(lambda n: f"Lead greeter {n}")
    slug = factory.Sequence(lambda n: f"lead-greeter-{n}")
    kind = m.MarketplaceComponent.Kind.WORKFLOW
    description = "Greets new leads with a friendly message"
    publisher = "Synapscale Labs"
    price = 0
    currency = "USD"
    status = m.MarketplaceComponent.Status.PUBLISHED
    tags = factory.List(["crm", "greeting"])


def _next_sequence(version) -> int:
    top = m.ComponentVersion.objects.filter(component=version.component).aggregate(
        top=Max("sequence"))["top"]
    return (top or 0) + 1


class ComponentVersionFactory(DjangoModelFactory):
    """A version greater than the component's others (``1.<sequence>.0``)."""

    class Meta:
        model = m.ComponentVersion

    component = factory.SubFactory(MarketplaceComponentFactory)
    sequence = factory.LazyAttribute(_next_sequence)
    version = factory.LazyAttribute(lambda o: f"1.{o.sequence}.0")
    changelog = "First release"
    payload = factory.LazyAttribute(lambda o: workflow_payload(o.component.name))
    checksum = factory.LazyAttribute(lambda o: checksum(o.payload))


class ComponentRatingFactory(DjangoModelFactory):
    class Meta:
        model = m.ComponentRating

    user = factory.SubFactory(UserFactory)
    component = factory.SubFactory(MarketplaceComponentFactory)
    score = 4
    comment = "Saved us an afternoon"


class ComponentPurchaseFactory(DjangoModelFactory):
    class Meta:
        model = m.ComponentPurchase
        skip_postgeneration_save = True

    workspace = factory.SubFactory(WorkspaceFactory)
    component = factory.SubFactory(MarketplaceComponentFactory, price=1500)
    price_paid = factory.SelfAttribute("component.price")
    currency = factory.SelfAttribute("component.currency")
    method = m.ComponentPurchase.Method.CREDITS
    status = m.ComponentPurchase.Status.PAID

    @factory.post_generation
    def fund(obj, create, extracted, **kwargs):
        if create and extracted is not False and obj.component.price:
            from billing.services import credits
            from marketplace.services.charges import credits_for

            credits.grant(obj.workspace_id, credits_for(obj.component.price),
                          reason="Test funds for a marketplace purchase")


class ComponentInstallationFactory(DjangoModelFactory):
    class Meta:
        model = m.ComponentInstallation

    workspace = factory.SubFactory(WorkspaceFactory)
    component = factory.SubFactory(MarketplaceComponentFactory)
    version = factory.SubFactory(ComponentVersionFactory,
                                 component=factory.SelfAttribute("..component"))
    workflow = factory.SubFactory(WorkflowFactory, workspace=SAME_WORKSPACE,
                                  status="draft")


class ComponentDownloadFactory(DjangoModelFactory):
    class Meta:
        model = m.ComponentDownload

    workspace = factory.SubFactory(WorkspaceFactory)
    component = factory.SubFactory(MarketplaceComponentFactory)
    version = factory.SubFactory(ComponentVersionFactory,
                                 component=factory.SelfAttribute("..component"))
    kind = m.ComponentDownload.Kind.INSTALL
