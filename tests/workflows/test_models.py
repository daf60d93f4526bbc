"""Model-level rules of workflows: keys, retry policies, input schemas, node configs."""

import pytest
from django.core.exceptions import ValidationError

from tests.factories import (
    ConnectionFactory,
    DeploymentFactory,
    ExecutionMetricFactory,
    NodeExecutionFactory,
    NodeFactory,
    NodeTypeFactory,
    TriggerFactory,
    WorkflowFactory,
    WorkflowShareFactory,
)
from workflows.policies import retry_policy
from workflows.snapshot import checksum, graph_snapshot

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("factory", [ConnectionFactory, DeploymentFactory,
                                     ExecutionMetricFactory, NodeExecutionFactory,
                                     NodeTypeFactory, TriggerFactory, WorkflowShareFactory])
def test_every_factory_builds_a_valid_row(factory):
    factory().full_clean()


@pytest.mark.parametrize("key", ["Fetch", "1st", "with-dash", "", "x" * 65])
def test_a_node_key_must_be_usable_in_expressions(key):
    with pytest.raises(ValidationError) as caught:
        NodeFactory.build(workflow=WorkflowFactory(), key=key).full_clean()
    assert "key" in caught.value.message_dict


@pytest.mark.parametrize("policy, problem", [
    ({"max_attempts": 0}, "max_attempts must be between 1 and 20"),
    ({"backoff": "fast"}, "backoff must be a number"),
    ({"tries": 3}, "Unknown retry policy keys: tries"),
    ([3], "must be an object"),
])
def test_a_bad_retry_policy_is_refused_naming_the_key(policy, problem):
    with pytest.raises(ValidationError) as caught:
        WorkflowFactory.build(workspace=WorkflowFactory().workspace, name="x",
                              retry_policy=policy).full_clean()
    assert problem in " ".join(caught.value.message_dict["retry_policy"])


def test_node_retry_policy_overrides_the_workflows_over_the_defaults():
    assert retry_policy({"max_attempts": 3, "backoff": 1}, {"backoff": 5}) == {
        "max_attempts": 3, "backoff": 5, "jitter": 0.2, "max_delay": 300.0}


def test_an_input_schema_must_be_a_json_schema():
    with pytest.raises(ValidationError) as caught:
        WorkflowFactory.build(workspace=WorkflowFactory().workspace, name="x",
                              input_schema={"type": "no-such-type"}).full_clean()
    assert "Not a valid JSON Schema" in caught.value.message_dict["input_schema"][0]


def test_an_unknown_node_type_is_refused():
    with pytest.raises(ValidationError) as caught:
        NodeFactory.build(workflow=WorkflowFactory(), type="teleport").full_clean()
    assert "No node type 'teleport'" in caught.value.message_dict["type"][0]


def test_a_connection_cannot_join_nodes_of_two_workflows():
    connection = ConnectionFactory()
    connection.target = NodeFactory(workspace=connection.workspace)
    with pytest.raises(ValidationError) as caught:
        connection.full_clean()
    assert caught.value.message_dict["target"] == ["This node belongs to another workflow."]


def test_the_snapshot_checksum_ignores_row_order_and_follows_content():
    connection = ConnectionFactory()
    workflow = connection.workflow
    first = checksum(graph_snapshot(workflow))
    assert checksum(graph_snapshot(workflow)) == first
    connection.source.config = {}
    connection.source.name = "Renamed"
    connection.source.save()
    assert checksum(graph_snapshot(workflow)) != first
