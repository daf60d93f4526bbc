"""Workflow definitions: the draft graph, publishing versions, deploying them, import/export.

Every write to a workflow, its nodes, connections and shares goes through here (API and
admin alike).  Edits of the draft keep the rules that can never be fixed later (node
types and config, ports, no cycles); the whole graph (reachability from a trigger,
expressions naming upstream nodes) is checked by ``workflow_validate`` and enforced by
``workflow_publish``, which freezes the draft into an immutable ``WorkflowVersion``.
Changes made in a request reach the audit trail through the model signals; versions and
deployments (append-only rows) are recorded here explicitly.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import audit

from ..graph import graph_problems, port_problems
from ..models import Connection, Deployment, Node, Workflow, WorkflowShare, WorkflowVersion
from ..nodes import registry
from ..snapshot import SETTINGS, checksum, graph_snapshot

#: The ``format`` tag of an exported workflow; import refuses any other.
EXPORT_FORMAT = "synapscale.workflow/1"
#: Workflow fields an export carries besides the graph (settings travel in the graph).
EXPORT_FIELDS = ("name", "description", "metadata")
_NODE_FIELDS = ("type", "name", "config", "retry_policy", "timeout", "continue_on_fail",
                "disabled")


def _user(by):
    return by if getattr(by, "pk", None) else None


def _activity(workflow: Workflow, by, verb: str, summary: str, target=None, **data) -> None:
    from workspaces.services.workspaces import activity_record

    activity_record(workspace=workflow.workspace, actor=_user(by), verb=verb,
                    summary=summary, target=target or workflow, data=data)


def _save(obj) -> None:
    obj.full_clean()
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:  # a race past full_clean's uniqueness check
        raise ValidationError(f"This {obj._meta.verbose_name} clashes with an existing one: "
                              f"{exc}") from exc


# --- workflows --------------------------------------------------------------------------


@transaction.atomic
def workflow_create(*, workspace, by=None, tags=None, **fields) -> Workflow:
    workflow = Workflow(workspace=workspace, **fields)
    if workflow.created_by_id is None:
        workflow.created_by = _user(by)
    _save(workflow)
    if tags is not None:
        workflow.tags.set(tags)
    return workflow


@transaction.atomic
def workflow_update(workflow: Workflow, *, tags=None, **fields) -> Workflow:
    """Change a workflow's own fields (the graph changes through the node services)."""
    fields.pop("version", None)  # only publishing moves it
    for name, value in fields.items():
        setattr(workflow, name, value)
    # A caller's copy may predate a publish: never write its stale version number back.
    workflow.version = Workflow.objects.filter(pk=workflow.pk).values_list(
        "version", flat=True).first() or 0
    _save(workflow)
    if tags is not None:
        workflow.tags.set(tags)
    return workflow


def workflow_delete(workflow: Workflow) -> None:
    workflow.delete()


def workflow_validate(workflow: Workflow) -> list[dict]:
    """The graph's problems as it stands (the draft): empty when it may be published."""
    return graph_problems(graph_snapshot(workflow))


def _refuse(problems: list[dict], what: str) -> ValidationError:
    detail: dict[str, list[str]] = {}
    for problem in problems:
        field = f"{problem['node']}.{problem['field']}" if problem["node"] else problem["field"]
        detail.setdefault(field, []).append(problem["message"])
    error = ValidationError(detail)
    error.problems = problems  # the structured list, for callers that show it as such
    error.what = what
    return error


@transaction.atomic
def workflow_publish(*, workflow: Workflow, by=None, note: str = "") -> WorkflowVersion:
    """Freeze the draft into version ``workflow.version + 1``; refused while it has problems.

    Later edits of the draft never change the version: executions run the frozen graph.
    """
    caller, workflow = workflow, Workflow.objects.select_for_update().get(pk=workflow.pk)
    graph = graph_snapshot(workflow)
    problems = graph_problems(graph)
    if problems:
        raise _refuse(problems, "publish")
    version = WorkflowVersion(workspace_id=workflow.workspace_id, workflow=workflow,
                              number=workflow.version + 1, graph=graph,
                              checksum=checksum(graph), note=(note or "")[:300],
                              published_by=_user(by), published_at=timezone.now())
    version.full_clean()
    version.save()
    Workflow.objects.filter(pk=workflow.pk).update(version=version.number,
                                                   updated_at=timezone.now())
    workflow.version = caller.version = version.number
    audit.record(action="create", instance=version, before=None, after=audit.snapshot(version))
    _activity(workflow, by, "workflow.published",
              f"Workflow {workflow} published as version {version.number}", target=version,
              version=version.number, checksum=version.checksum)
    return version


@transaction.atomic
def workflow_deploy(*, workflow: Workflow, version: WorkflowVersion | None = None,
                    environment: str = "production", by=None) -> Deployment:
    """Make ``version`` (default: the latest) live in ``environment``.

    The environment's previous deployment is deactivated in the same transaction, so
    there is always at most one live version; rolling back is deploying an older one.
    """
    Workflow.objects.select_for_update().filter(pk=workflow.pk).first()
    if version is None:
        version = workflow.versions.order_by("-number").first()
        if version is None:
            raise ValidationError({"version": ["This workflow has no published version: "
                                               "publish it first."]})
    elif version.workflow_id != workflow.pk:
        raise ValidationError({"version": [f"Version {version.number} belongs to another "
                                           "workflow."]})
    environment = (environment or "").strip()
    if not environment or len(environment) > 40:
        raise ValidationError({"environment": ["Name the environment (at most 40 "
                                               "characters), e.g. production."]})
    now = timezone.now()
    for previous in Deployment.objects.select_for_update().filter(
            workflow=workflow, environment=environment, is_active=True):
        before = audit.snapshot(previous)
        previous.is_active, previous.deactivated_at = False, now
        previous.save(update_fields=["is_active", "deactivated_at"])
        audit.record(action="update", instance=previous, before=before,
                     after=audit.snapshot(previous))
    deployment = Deployment(workspace_id=workflow.workspace_id, workflow=workflow,
                            version=version, environment=environment, is_active=True,
                            activated_by=_user(by), activated_at=now)
    deployment.full_clean(validate_constraints=False)
    deployment.save()
    audit.record(action="create", instance=deployment, before=None,
                 after=audit.snapshot(deployment))
    _activity(workflow, by, "workflow.deployed",
              f"Workflow {workflow} version {version.number} deployed to {environment}",
              target=deployment, version=version.number, environment=environment)
    return deployment


def workflow_rollback(*, workflow: Workflow, environment: str = "production",
                      by=None) -> Deployment:
    """Deploy the version that was live in ``environment`` before the current one."""
    current = Deployment.objects.filter(workflow=workflow, environment=environment,
                                        is_active=True).first()
    earlier = Deployment.objects.filter(workflow=workflow, environment=environment,
                                        is_active=False)
    if current is not None:
        earlier = earlier.exclude(version=current.version).filter(
            activated_at__lte=current.activated_at)
    previous = earlier.select_related("version").order_by("-activated_at", "-id").first()
    if previous is None:
        raise ValidationError({"environment": [f"Nothing to roll back to in {environment}."]})
    return workflow_deploy(workflow=workflow, version=previous.version,
                           environment=environment, by=by)


# --- export and import ------------------------------------------------------------------


def workflow_export(workflow: Workflow) -> dict:
    """The workflow as JSON: its fields and its draft graph (the snapshot format)."""
    return {"format": EXPORT_FORMAT,
            **{name: getattr(workflow, name) for name in EXPORT_FIELDS},
            "graph": graph_snapshot(workflow)}


def _import_shape(data) -> tuple[dict, list, list, dict]:
    if not isinstance(data, dict):
        raise ValidationError({"data": ["An exported workflow is a JSON object."]})
    if data.get("format") != EXPORT_FORMAT:
        raise ValidationError({"format": [f"Not an exported workflow: format must be "
                                          f"{EXPORT_FORMAT!r}, got {data.get('format')!r}."]})
    graph = data.get("graph")
    if not isinstance(graph, dict):
        raise ValidationError({"graph": ["The export has no graph object."]})
    nodes, connections = graph.get("nodes", []), graph.get("connections", [])
    settings = graph.get("settings", {})
    if not isinstance(nodes, list) or not all(isinstance(n, dict) for n in nodes):
        raise ValidationError({"graph.nodes": ["A list of node objects."]})
    if not isinstance(connections, list) or not all(isinstance(c, dict) for c in connections):
        raise ValidationError({"graph.connections": ["A list of connection objects."]})
    if not isinstance(settings, dict):
        raise ValidationError({"graph.settings": ["An object."]})
    return graph, nodes, connections, settings


@transaction.atomic
def workflow_import(*, workspace, data: dict, by=None, name: str | None = None) -> Workflow:
    """A new draft workflow from an export; all or nothing.

    The graph must keep every rule a publish checks; a name already used in the
    workspace is refused naming it (pass ``name`` to import under another).
    """
    graph, nodes, connections, settings = _import_shape(data)
    problems = graph_problems(graph)
    if problems:
        raise _refuse(problems, "import")
    name = name or data.get("name") or ""
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise ValidationError({"name": ["The export has no name: give one."]})
    if Workflow.objects.filter(workspace=workspace, name=name).exists():
        raise ValidationError({"name": [f"A workflow named {name!r} already exists in this "
                                        "workspace: import it under another name."]})
    fields = {k: data[k] for k in EXPORT_FIELDS if k in data and k != "name"}
    fields.update({k: settings[k] for k in SETTINGS if k in settings})
    try:
        workflow = workflow_create(workspace=workspace, by=by, name=name, **fields)
        made: dict[str, Node] = {}
        for item in nodes:
            key = item.get("key")
            position = item.get("position") or [0, 0]
            if not (isinstance(position, list) and len(position) == 2):
                raise ValidationError({f"{key}.position": ["[x, y]."]})
            try:
                made[key] = node_create(workflow=workflow, key=key, position_x=position[0],
                                        position_y=position[1],
                                        **{k: item[k] for k in _NODE_FIELDS if k in item})
            except ValidationError as exc:  # name the node: {"<key>.<field>": [...]}
                raise ValidationError({f"{key}.{field}": messages for field, messages in
                                       exc.message_dict.items()}) from exc
        for item in connections:
            connection_create(workflow=workflow, source=made[item["source"]],
                              target=made[item["target"]],
                              source_output=item.get("source_output") or "main",
                              target_input=item.get("target_input") or "main")
    except (TypeError, ValueError) as exc:
        raise ValidationError({"graph": [f"The export is malformed: {exc}"]}) from exc
    _activity(workflow, by, "workflow.imported", f"Workflow {workflow} imported",
              nodes=len(nodes), connections=len(connections))
    return workflow


# --- the draft graph: nodes and connections ----------------------------------------------


def node_create(*, workflow: Workflow, by=None, **fields) -> Node:
    node = Node(workspace_id=workflow.workspace_id, workflow=workflow, **fields)
    _save(node)
    return node


def node_update(node: Node, **fields) -> Node:
    """Change a node; a new key must not break expressions elsewhere (checked at publish)."""
    workflow = fields.get("workflow")
    if workflow is not None and workflow.pk != node.workflow_id and \
            (node.outgoing.exists() or node.incoming.exists()):
        raise ValidationError({"workflow": ["A connected node cannot move to another "
                                            "workflow: delete its connections first."]})
    for name, value in fields.items():
        setattr(node, name, value)
    with transaction.atomic():
        _save(node)
        for connection in list(node.outgoing.all()) + list(node.incoming.all()):
            _check_ports(connection)
    return node


def node_delete(node: Node) -> None:
    node.delete()  # its connections go with it


def _check_ports(connection: Connection) -> None:
    source, target = connection.source, connection.target
    problems = port_problems(source.key, registry.find(source.type), source.config,
                             connection.source_output, target.key, registry.find(target.type),
                             connection.target_input)
    if problems:
        raise ValidationError({field: [message] for field, message in problems.items()})


def _check_no_cycle(connection: Connection) -> None:
    import networkx as nx

    edges = (Connection.objects.filter(workflow_id=connection.workflow_id)
             .exclude(pk=connection.pk).values_list("source_id", "target_id"))
    digraph = nx.DiGraph(list(edges))
    digraph.add_edge(connection.source_id, connection.target_id)
    try:
        cycle = nx.find_cycle(digraph, source=connection.source_id)
    except nx.NetworkXNoCycle:
        return
    keys = dict(Node.objects.filter(pk__in={e[0] for e in cycle})
                .values_list("pk", "key"))
    path = " → ".join([*(keys[e[0]] for e in cycle), keys[cycle[0][0]]])
    raise ValidationError({"target": [f"This connection would make a cycle: {path}."]})


def _connection_save(connection: Connection) -> Connection:
    connection.full_clean()
    _check_ports(connection)
    _check_no_cycle(connection)
    _save(connection)
    return connection


@transaction.atomic
def connection_create(*, workflow: Workflow, source: Node, target: Node, by=None,
                      **fields) -> Connection:
    Workflow.objects.select_for_update().filter(pk=workflow.pk).first()  # one edit at a time
    return _connection_save(Connection(workspace_id=workflow.workspace_id, workflow=workflow,
                                       source=source, target=target, **fields))


@transaction.atomic
def connection_update(connection: Connection, **fields) -> Connection:
    Workflow.objects.select_for_update().filter(pk=connection.workflow_id).first()
    for name, value in fields.items():
        setattr(connection, name, value)
    return _connection_save(connection)


def connection_delete(connection: Connection) -> None:
    connection.delete()


# --- shares -----------------------------------------------------------------------------


def share_create(*, workflow: Workflow, by=None, **fields) -> WorkflowShare:
    share = WorkflowShare(workspace_id=workflow.workspace_id, workflow=workflow,
                          granted_by=_user(by), **fields)
    _share_check(share)
    _save(share)
    return share


def share_update(share: WorkflowShare, **fields) -> WorkflowShare:
    for name, value in fields.items():
        setattr(share, name, value)
    _share_check(share)
    _save(share)
    return share


def share_delete(share: WorkflowShare) -> None:
    share.delete()


def _share_check(share: WorkflowShare) -> None:
    from workspaces.queries import is_member

    if share.user_id and not is_member(share.user_id, share.workspace_id):
        raise ValidationError({"user": ["Share only with members of the workspace."]})
    if share.role_id and share.role.workspace_id != share.workspace_id:
        raise ValidationError({"role": ["This role belongs to another workspace."]})
