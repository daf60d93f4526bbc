"""Factories for workflow templates and their gallery rows (private by default, so a
template made in one workspace is out of every other's reach unless a test says so)."""

import factory
from factory.django import DjangoModelFactory

from workflows import models as m
from workflows.models.templates import Visibility
from workflows.services.templates import required_credentials
from workflows.snapshot import checksum

from .accounts import UserFactory
from .workflows import WorkflowFactory, WorkflowVersionFactory
from .workspaces import SAME_WORKSPACE, MembershipFactory, WorkspaceFactory


def _member(o):
    return MembershipFactory(workspace=o.workspace).user


class WorkflowTemplateFactory(DjangoModelFactory):
    """A template of a fresh one-node version (the graph frozen from it)."""

    class Meta:
        model = m.WorkflowTemplate

    workspace = factory.SubFactory(WorkspaceFactory)
    source_version = factory.SubFactory(
        WorkflowVersionFactory, workspace=SAME_WORKSPACE,
        workflow=factory.SubFactory(WorkflowFactory, workspace=SAME_WORKSPACE))
    name = factory.Sequence(lambda n: f"Lead follow-up {n}")
    description = "Emails new leads and books a call"
    category = "sales"
    tags = factory.List(["crm", "email"])
    visibility = Visibility.PRIVATE
    graph = factory.LazyAttribute(lambda o: o.source_version.graph)
    checksum = factory.LazyAttribute(lambda o: checksum(o.graph))
    required_credentials = factory.LazyAttribute(
        lambda o: required_credentials({n["key"]: n["config"] for n in o.graph["nodes"]}))
    node_types = factory.LazyAttribute(lambda o: sorted({n["type"] for n in o.graph["nodes"]}))


class TemplateCollectionFactory(DjangoModelFactory):
    class Meta:
        model = m.TemplateCollection
        skip_postgeneration_save = True

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Sales starters {n}")
    description = "Templates for a new sales team"

    @factory.post_generation
    def templates(self, create, extracted, **kwargs):
        if create and extracted:
            self.templates.set(extracted)


class TemplateFavoriteFactory(DjangoModelFactory):
    class Meta:
        model = m.TemplateFavorite

    workspace = factory.SubFactory(WorkspaceFactory)
    template = factory.SubFactory(WorkflowTemplateFactory, workspace=SAME_WORKSPACE)
    user = factory.LazyAttribute(_member)


class TemplateReviewFactory(DjangoModelFactory):
    class Meta:
        model = m.TemplateReview

    workspace = factory.SubFactory(WorkspaceFactory)
    template = factory.SubFactory(WorkflowTemplateFactory, workspace=SAME_WORKSPACE)
    user = factory.LazyAttribute(_member)
    rating = 4
    comment = "Saved us a day of wiring"


class TemplateInstallationFactory(DjangoModelFactory):
    class Meta:
        model = m.TemplateInstallation

    workspace = factory.SubFactory(WorkspaceFactory)
    template = factory.SubFactory(WorkflowTemplateFactory, workspace=SAME_WORKSPACE)
    template_name = factory.LazyAttribute(lambda o: o.template.name)
    workflow = factory.SubFactory(WorkflowFactory, workspace=SAME_WORKSPACE)
    installed_by = factory.SubFactory(UserFactory)


class NodeTemplateFactory(DjangoModelFactory):
    class Meta:
        model = m.NodeTemplate

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Tag the region {n}")
    description = "Adds the sales region to the item"
    node_type = "set_values"
    config = factory.Dict({"values": {"region": "south"}, "mode": "merge"})
    category = "data"
    visibility = Visibility.PRIVATE


class NodeRatingFactory(DjangoModelFactory):
    class Meta:
        model = m.NodeRating

    workspace = factory.SubFactory(WorkspaceFactory)
    node_template = factory.SubFactory(NodeTemplateFactory, workspace=SAME_WORKSPACE)
    user = factory.LazyAttribute(_member)
    rating = 5
    comment = "Exactly the preset we needed"
