"""Graph rules on the snapshot format: each rule broken once, the problem naming node
and field."""

from workflows.graph import graph_problems


def node(key, type="set_values", **config):
    if type == "set_values" and not config:
        config = {"values": {"ok": True}}
    return {"key": key, "type": type, "name": key, "config": config, "retry_policy": None,
            "timeout": None, "continue_on_fail": False, "disabled": False, "position": [0, 0]}


def edge(source, target, source_output="main", target_input="main"):
    return {"source": source, "source_output": source_output, "target": target,
            "target_input": target_input}


def graph(nodes, connections=()):
    return {"nodes": nodes, "connections": list(connections), "settings": {}}


def find(problems, node_key, field):
    return [p for p in problems if p["node"] == node_key and p["field"] == field]


def test_a_valid_graph_has_no_problems():
    g = graph([node("start", "trigger"), node("a"),
               node("b", values={"n": "{{ nodes.a.output.ok }}"})],
              [edge("start", "a"), edge("a", "b")])
    assert graph_problems(g) == []


def test_a_cycle_is_named_by_its_nodes():
    g = graph([node("start", "trigger"), node("a"), node("b"), node("c")],
              [edge("start", "a"), edge("a", "b"), edge("b", "c"), edge("c", "a")])
    cycles = [p for p in graph_problems(g) if "cycle" in p["message"]]
    assert len(cycles) == 1 and cycles[0]["field"] == "connections"
    assert "a → b → c → a" in cycles[0]["message"]


def test_a_node_unreachable_from_a_trigger_is_named():
    g = graph([node("start", "trigger"), node("a"), node("island")], [edge("start", "a")])
    (problem,) = graph_problems(g)
    assert problem["node"] == "island" and problem["field"] == "connections"
    assert "not reachable from a trigger" in problem["message"]


def test_a_graph_without_a_trigger_node_is_refused():
    problems = graph_problems(graph([node("a")]))
    assert find(problems, None, "nodes")
    assert "no trigger node" in find(problems, None, "nodes")[0]["message"]
    assert find(graph_problems(graph([])), None, "nodes")


def test_an_output_the_source_type_lacks_is_refused_but_error_is_allowed():
    g = graph([node("start", "trigger"), node("a"), node("b")],
              [edge("start", "a", source_output="true"), edge("start", "b", "error")])
    (problem,) = graph_problems(g)
    assert (problem["node"], problem["field"]) == ("start", "source_output")
    assert "'true'" in problem["message"] and "main, error" in problem["message"]


def test_an_input_the_target_type_lacks_is_refused():
    g = graph([node("start", "trigger"), node("again", "trigger")],
              [edge("start", "again")])
    problem = find(graph_problems(g), "again", "target_input")[0]
    assert "entry point" in problem["message"]


def test_a_connection_to_an_unknown_node_is_named():
    g = graph([node("start", "trigger")], [edge("start", "ghost")])
    assert find(graph_problems(g), None, "connections.0.target")


def test_an_unknown_node_type_is_named():
    g = graph([node("start", "trigger"), node("a", "teleport")], [edge("start", "a")])
    (problem,) = graph_problems(g)
    assert (problem["node"], problem["field"]) == ("a", "type")
    assert "teleport" in problem["message"]


def test_config_errors_name_the_config_field():
    g = graph([node("start", "trigger"), node("fetch", "http_request", url=5)],
              [edge("start", "fetch")])
    (problem,) = graph_problems(g)
    assert (problem["node"], problem["field"]) == ("fetch", "config.url")
    assert "not of type 'string'" in problem["message"]


def test_an_expression_that_does_not_parse_is_named_by_its_path():
    g = graph([node("start", "trigger"), node("a", values={"x": "{{ input.x "})],
              [edge("start", "a")])
    (problem,) = graph_problems(g)
    assert (problem["node"], problem["field"]) == ("a", "config.values.x")


def test_an_expression_naming_a_node_not_upstream_is_refused():
    g = graph([node("start", "trigger"), node("a"),
               node("b", values={"x": "{{ nodes.c.output }}"}), node("c")],
              [edge("start", "a"), edge("a", "b"), edge("a", "c")])
    (problem,) = graph_problems(g)
    assert (problem["node"], problem["field"]) == ("b", "config.values.x")
    assert "'c'" in problem["message"] and "not upstream" in problem["message"]


def test_an_expression_naming_an_unknown_node_is_refused():
    g = graph([node("start", "trigger"), node("a", values={"x": "{{ nodes.nope.output }}"})],
              [edge("start", "a")])
    (problem,) = graph_problems(g)
    assert "not a node here" in problem["message"]


def test_duplicate_keys_and_junk_are_reported_not_raised():
    g = graph([node("start", "trigger"), node("start")])
    assert find(graph_problems(g), "start", "key")
    assert graph_problems({"nodes": "x"})[0]["field"] == "graph"
    assert graph_problems("nonsense")[0]["field"] == "graph"


def test_a_switch_has_the_outputs_its_cases_name():
    switch = node("route", "switch", value="{{ input.tier }}",
                  cases=[{"output": "gold", "value": "gold"}, {"output": "silver",
                                                                "value": "silver"}])
    g = graph([node("start", "trigger"), switch, node("a"), node("b"), node("c"), node("d")],
              [edge("start", "route"), edge("route", "a", "gold"), edge("route", "b", "silver"),
               edge("route", "c", "default"), edge("route", "d", "bronze")])
    (problem,) = graph_problems(g)
    assert problem["node"] == "route" and problem["field"] == "source_output"
    assert "no output 'bronze'; its outputs: gold, silver, default, error" in problem["message"]
