"""Definitions services: publish, version immutability, deploy and roll back, export and
import, draft edits that can never be valid, and the catalogue mirror."""

import pytest
from django.core.exceptions import ValidationError

from tests.factories import NodeFactory, WorkflowFactory
from workflows.models import Deployment, NodeType, Workflow, WorkflowVersion
from workflows.nodes import registry
from workflows.services import catalogue
from workflows.services import definitions as d
from workflows.snapshot import checksum, graph_snapshot

pytestmark = pytest.mark.django_db


def chain(workflow=None):
    """start (trigger) → shape (set_values) → done (set_values reading shape)."""
    workflow = workflow or WorkflowFactory(status=Workflow.Status.DRAFT)
    start = d.node_create(workflow=workflow, key="start", type="trigger")
    shape = d.node_create(workflow=workflow, key="shape", type="set_values",
                          config={"values": {"total": "{{ input.total }}"}})
    done = d.node_create(workflow=workflow, key="done", type="set_values",
                         config={"values": {"seen": "{{ nodes.shape.output.total }}"}})
    d.connection_create(workflow=workflow, source=start, target=shape)
    d.connection_create(workflow=workflow, source=shape, target=done)
    return workflow


def test_publish_freezes_the_draft_as_the_next_version():
    workflow = chain()
    version = d.workflow_publish(workflow=workflow, note="first")
    workflow.refresh_from_db()
    assert (version.number, workflow.version) == (1, 1)
    assert version.graph == graph_snapshot(workflow)
    assert version.checksum == checksum(version.graph)
    assert [n["key"] for n in version.graph["nodes"]] == ["done", "shape", "start"]
    assert d.workflow_publish(workflow=workflow).number == 2


def test_publish_refuses_a_broken_graph_listing_its_problems():
    workflow = chain()
    d.node_create(workflow=workflow, key="island", type="merge")
    with pytest.raises(ValidationError) as refused:
        d.workflow_publish(workflow=workflow)
    assert refused.value.problems == [{"node": "island", "field": "connections",
                                       "message": refused.value.problems[0]["message"]}]
    assert "island.connections" in refused.value.message_dict
    assert not WorkflowVersion.objects.filter(workflow=workflow).exists()
    workflow.refresh_from_db()
    assert workflow.version == 0


def test_editing_the_draft_after_publishing_leaves_the_version_alone():
    workflow = chain()
    version = d.workflow_publish(workflow=workflow)
    frozen, frozen_sum = version.graph, version.checksum
    shape = workflow.nodes.get(key="shape")
    d.node_update(shape, config={"values": {"total": 0}})
    stale = Workflow.objects.get(pk=workflow.pk)
    stale.version = 0  # a copy read before the publish
    d.workflow_update(stale, execution_timeout=60)
    assert Workflow.objects.get(pk=workflow.pk).version == 1
    version.refresh_from_db()
    assert (version.graph, version.checksum) == (frozen, frozen_sum)
    second = d.workflow_publish(workflow=workflow)
    assert second.checksum != frozen_sum
    assert second.graph["settings"]["execution_timeout"] == 60


def test_deploy_keeps_one_live_version_per_environment_and_rolls_back():
    workflow = chain()
    v1 = d.workflow_publish(workflow=workflow)
    first = d.workflow_deploy(workflow=workflow)
    assert first.version == v1 and first.is_active
    v2 = d.workflow_publish(workflow=workflow, note="second")
    second = d.workflow_deploy(workflow=workflow)
    staging = d.workflow_deploy(workflow=workflow, version=v1, environment="staging")
    first.refresh_from_db()
    assert not first.is_active and first.deactivated_at is not None
    assert second.version == v2 and staging.is_active
    back = d.workflow_rollback(workflow=workflow)
    assert back.version == v1
    live = Deployment.objects.filter(workflow=workflow, environment="production",
                                     is_active=True)
    assert list(live) == [back]
    older = d.workflow_deploy(workflow=workflow, version=v2)
    assert older.version == v2 and live.get() == older


def test_deploy_needs_a_published_version_of_this_workflow():
    workflow = chain()
    with pytest.raises(ValidationError) as refused:
        d.workflow_deploy(workflow=workflow)
    assert "version" in refused.value.message_dict
    other = d.workflow_publish(workflow=chain())
    with pytest.raises(ValidationError):
        d.workflow_deploy(workflow=workflow, version=other)


def test_export_then_import_gives_the_same_graph_checksum():
    workflow = chain()
    exported = d.workflow_export(workflow)
    assert exported["format"] == d.EXPORT_FORMAT and exported["name"] == workflow.name
    copy = d.workflow_import(workspace=workflow.workspace, data=exported, name="Copy")
    assert copy.name == "Copy" and copy.pk != workflow.pk
    assert checksum(graph_snapshot(copy)) == checksum(graph_snapshot(workflow))
    assert checksum(d.workflow_export(copy)["graph"]) == checksum(exported["graph"])


def test_import_names_a_clash_and_writes_nothing_when_refused():
    workflow = chain()
    exported = d.workflow_export(workflow)
    with pytest.raises(ValidationError) as clash:
        d.workflow_import(workspace=workflow.workspace, data=exported)
    assert workflow.name in clash.value.message_dict["name"][0]

    broken = d.workflow_export(workflow)
    broken["graph"]["connections"].pop()  # "done" is cut off
    before = Workflow.objects.count()
    with pytest.raises(ValidationError) as invalid:
        d.workflow_import(workspace=workflow.workspace, data=broken, name="Broken")
    assert "done.connections" in invalid.value.message_dict
    with pytest.raises(ValidationError) as wrong:
        d.workflow_import(workspace=workflow.workspace, data={"format": "n8n"}, name="X")
    assert "format" in wrong.value.message_dict
    assert Workflow.objects.count() == before


def test_draft_edits_refuse_cycles_and_ports_that_do_not_exist():
    workflow = chain()
    start, shape, done = (workflow.nodes.get(key=k) for k in ("start", "shape", "done"))
    with pytest.raises(ValidationError) as cycle:
        d.connection_create(workflow=workflow, source=done, target=shape)
    assert "done → shape → done" in cycle.value.message_dict["target"][0]
    with pytest.raises(ValidationError) as port:
        d.connection_create(workflow=workflow, source=shape, target=done,
                            source_output="true")
    assert "source_output" in port.value.message_dict
    with pytest.raises(ValidationError) as entry:
        d.connection_create(workflow=workflow, source=shape, target=start)
    assert "target_input" in entry.value.message_dict
    with pytest.raises(ValidationError) as config:
        d.node_update(shape, config={"values": "not an object"})
    assert "config" in config.value.message_dict


def test_catalogue_sync_mirrors_the_registry_and_is_idempotent():
    NodeType.objects.all().delete()
    NodeFactory.reset_sequence()
    first = catalogue.catalogue_sync()
    assert first["created"] == len(registry.all_types())
    again = catalogue.catalogue_sync()
    assert again == {"created": 0, "updated": 0, "deleted": 0}
    http = NodeType.objects.get(key="http_request")
    assert http.side_effects and http.config_schema == registry.find("http_request").config_schema
    trigger = NodeType.objects.get(key="trigger")
    assert trigger.is_trigger and trigger.inputs == [] and trigger.category.key == "triggers"
    NodeType.objects.filter(key="trigger").update(name="Renamed")
    NodeType.objects.create(key="gone", category=trigger.category, name="Gone")
    assert catalogue.catalogue_sync() == {"created": 0, "updated": 1, "deleted": 1}


def test_import_names_the_node_whose_fields_are_wrong():
    workflow = chain()
    exported = d.workflow_export(workflow)
    exported["graph"]["nodes"][0]["timeout"] = -5  # "done"
    with pytest.raises(ValidationError) as refused:
        d.workflow_import(workspace=workflow.workspace, data=exported, name="Other")
    assert "done.timeout" in refused.value.message_dict
