"""Data and flow nodes, called directly: what an author configures and what comes out."""

import pytest

from workflows.nodes import registry
from workflows.nodes.base import NodeContext, NodeError
from workflows.nodes.data import JsonTransformNode, SetValuesNode
from workflows.nodes.flow import ConditionNode, LoopNode, MergeNode, SwitchNode

ORDER = {"customer": {"name": "ACME", "state": "PR"},
         "items": [{"sku": "CZN", "qty": 9, "price": 10.5},
                   {"sku": "BFF", "qty": 1, "price": 99.0},
                   {"sku": "LAM", "qty": 6, "price": 3.0}]}


def run(node_type, config, main=None, **extra):
    context = NodeContext(workspace_id=1, execution_id=1, node_key="n", attempt=1,
                          config=config, input={"main": main}, extra=extra)
    return node_type().run(context)


def test_every_node_type_of_this_package_is_registered():
    for key in ("json_transform", "set_values", "condition", "switch", "merge", "loop",
                "http_request", "run_report", "import_csv", "send_email"):
        assert registry.find(key) is not None, key


# --- json_transform ---------------------------------------------------------------------


def test_json_transform_reshapes_the_input_with_jmespath():
    result = run(JsonTransformNode, {"expression": "items[?qty > `5`].{sku: sku, qty: qty}"},
                 ORDER)
    assert result.output == [{"sku": "CZN", "qty": 9}, {"sku": "LAM", "qty": 6}]
    assert run(JsonTransformNode, {"expression": "sum(items[].qty)"}, ORDER).output == 16


def test_json_transform_can_work_on_given_data():
    assert run(JsonTransformNode, {"expression": "[0]", "data": ["a", "b"]}, ORDER).output \
        == "a"


def test_json_transform_errors_name_the_field():
    with pytest.raises(NodeError, match=r"^expression: JMESPath 'items\[\?': ") as error:
        run(JsonTransformNode, {"expression": "items[?"}, ORDER)
    assert error.value.retryable is False
    with pytest.raises(NodeError, match=r"^expression: JMESPath 'sum"):
        run(JsonTransformNode, {"expression": "sum(customer)"}, ORDER)


# --- set_values ---------------------------------------------------------------------------


def test_set_values_merges_over_the_input_with_dotted_names():
    output = run(SetValuesNode, {"values": {"status": "approved", "customer.segment": "B2B",
                                            "meta.source.kind": "workflow"}},
                 {"customer": {"name": "ACME"}, "id": 3}).output
    assert output == {"id": 3, "status": "approved",
                      "customer": {"name": "ACME", "segment": "B2B"},
                      "meta": {"source": {"kind": "workflow"}}}


def test_set_values_does_not_change_the_upstream_output():
    upstream = {"customer": {"name": "ACME"}}
    run(SetValuesNode, {"values": {"customer.name": "Other"}}, upstream)
    assert upstream == {"customer": {"name": "ACME"}}


def test_set_values_replace_mode_and_literal_dots():
    assert run(SetValuesNode, {"values": {"a.b": 1}, "mode": "replace",
                               "dot_notation": False}, {"id": 3}).output == {"a.b": 1}


def test_set_values_refuses_to_nest_into_a_value():
    with pytest.raises(NodeError, match=r"^values.id.x: id is a int, not an object"):
        run(SetValuesNode, {"values": {"id.x": 1}}, {"id": 3})


# --- condition --------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "port"), [
    (True, "true"), (False, "false"), (3, "true"), (0, "false"), ([], "false"),
    ("yes", "true"), ("false", "false"), (" No ", "false"), ("", "false"), (None, "false")])
def test_condition_routes_the_input_by_the_truth_of_a_value(value, port):
    result = run(ConditionNode, {"value": value}, ORDER)
    assert result.ports == (port,) and result.output == ORDER


def test_condition_rules_all_or_any():
    rules = [{"left": 9, "operator": "gt", "right": 5},
             {"left": "PR", "operator": "in", "right": ["SP", "RJ"]}]
    assert run(ConditionNode, {"rules": rules}).ports == ("false",)
    assert run(ConditionNode, {"rules": rules, "combine": "any"}).ports == ("true",)


@pytest.mark.parametrize(("left", "op", "right", "holds"), [
    ("ACME Steel", "contains", "Steel", True), (["a", "b"], "contains", "c", False),
    ("ACME", "starts_with", "AC", True), ("x.csv", "ends_with", ".csv", True),
    ({}, "is_empty", None, True), ([1], "is_not_empty", None, True),
    (5, "equals", 5, True), ("5", "equals", 5, False), (2, "lte", 2, True),
    ("true", "is_true", None, True), ("0", "is_false", None, True),
])
def test_condition_operators(left, op, right, holds):
    result = run(ConditionNode, {"rules": [{"left": left, "operator": op, "right": right}]})
    assert result.ports == ("true" if holds else "false",)


def test_comparing_unlike_values_fails_clearly():
    with pytest.raises(NodeError, match="Cannot compare str 'a' with int 3"):
        run(ConditionNode, {"rules": [{"left": "a", "operator": "gt", "right": 3}]})


def test_condition_needs_a_value_or_rules():
    assert registry.config_errors(ConditionNode, {})
    assert registry.config_errors(ConditionNode, {"value": "{{ input.ok }}"}) == []


# --- switch -------------------------------------------------------------------------------

CASES = [{"output": "south", "operator": "in", "value": ["PR", "SC", "RS"]},
         {"output": "sao_paulo", "value": "SP"},
         {"output": "coastal", "operator": "in", "value": ["SP", "RJ", "SC"]}]


@pytest.mark.parametrize(("state", "mode", "ports"), [
    ("PR", "first", ("south",)), ("SC", "first", ("south",)),
    ("SC", "all", ("south", "coastal")), ("SP", "all", ("sao_paulo", "coastal")),
    ("MG", "first", ("default",)),
])
def test_switch_takes_the_matching_case_outputs_or_default(state, mode, ports):
    result = run(SwitchNode, {"value": state, "cases": CASES, "mode": mode}, ORDER)
    assert result.ports == ports and result.output == ORDER


def test_switch_outputs_are_its_cases_plus_default():
    assert SwitchNode.outputs_for({"cases": CASES}) == ("south", "sao_paulo", "coastal",
                                                       "default")
    assert SwitchNode.outputs_for({}) == ("default",)
    assert registry.config_errors(SwitchNode, {"value": 1, "cases": [{"output": "default"}]})
    assert registry.config_errors(SwitchNode, {"value": 1, "cases": [{"output": "Bad Name"}]})


# --- merge --------------------------------------------------------------------------------


def test_merge_lists_the_branch_outputs_in_connection_order():
    assert run(MergeNode, {}, [{"a": 1}, {"b": 2}], fan_in={"main": 2}).output == [
        {"a": 1}, {"b": 2}]


def test_merge_of_one_taken_branch_whose_output_is_a_list():
    assert run(MergeNode, {}, [1, 2, 3], fan_in={"main": 1}).output == [[1, 2, 3]]
    assert run(MergeNode, {"mode": "concat"}, [1, 2, 3], fan_in={"main": 1}).output == [
        1, 2, 3]


def test_merge_concatenates_lists_or_merges_objects():
    assert run(MergeNode, {"mode": "concat"}, [[1, 2], [3], 4],
               fan_in={"main": 3}).output == [1, 2, 3, 4]
    assert run(MergeNode, {"mode": "object"}, [{"a": 1, "b": 1}, None, {"b": 2}],
               fan_in={"main": 3}).output == {"a": 1, "b": 2}
    with pytest.raises(NodeError, match="branch 2 gave a list"):
        run(MergeNode, {"mode": "object"}, [{"a": 1}, [1]], fan_in={"main": 2})


def test_merge_without_fan_in_counts_takes_a_list_as_the_branches():
    assert run(MergeNode, {}, [{"a": 1}, {"b": 2}]).output == [{"a": 1}, {"b": 2}]
    assert run(MergeNode, {}, {"a": 1}).output == [{"a": 1}]


# --- loop ---------------------------------------------------------------------------------


def test_loop_transforms_each_item():
    output = run(LoopNode, {"path": "items", "transform": "{sku: sku, total: qty}"},
                 ORDER).output
    assert output == [{"sku": "CZN", "total": 9}, {"sku": "BFF", "total": 1},
                      {"sku": "LAM", "total": 6}]


def test_loop_batches_items():
    assert run(LoopNode, {"batch_size": 2}, list(range(5))).output == [[0, 1], [2, 3], [4]]
    assert run(LoopNode, {"path": "items[].sku", "batch_size": 2}, ORDER).output == [
        ["CZN", "BFF"], ["LAM"]]
    assert run(LoopNode, {"items": [], "batch_size": 3}).output == []


def test_loop_needs_a_list():
    with pytest.raises(NodeError, match=r"^path: expected a list of items, got dict"):
        run(LoopNode, {"path": "customer"}, ORDER)
    with pytest.raises(NodeError, match=r"^transform: JMESPath"):
        run(LoopNode, {"transform": "a[", "items": [1]})
