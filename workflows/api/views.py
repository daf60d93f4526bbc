"""Workflows API: definitions (CRUD and validate/publish/deploy/execute/export/import),
versions and deployments (read), executions and spans (read, cancel, re-run), metrics,
and the node catalogue.

Scoped like every workspace resource: other tenants' rows answer 404, viewers read,
members write.  Starting executions is ``queries.can_run``: a role that may change the
workflow, or a ``WorkflowShare`` granting run or edit to the user (or their custom role).
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from core import tenancy
from core.api.errors import ApiError
from core.api.viewsets import (
    CatalogueViewSet,
    ScopedModelViewSet,
    ScopedReadOnlyModelViewSet,
)
from core.context import request_user
from workflows import models as m
from workflows import queries
from workflows.services import definitions

from . import serializers as s


class SignedIn(BasePermission):
    """For actions that check their own rule (``can_run``, ``change``) on a visible row."""

    def has_permission(self, request, view) -> bool:
        return tenancy.principal_for(request).is_authenticated


def _require(request, obj, action_name: str, what: str) -> None:
    if not tenancy.can(tenancy.principal_for(request), obj, action_name):
        raise PermissionDenied(f"Your role in this workspace cannot {what}.")


def _require_run(request, workflow) -> None:
    if not queries.can_run(tenancy.principal_for(request), workflow):
        raise PermissionDenied("You may not run this workflow: it needs a role that may "
                               "change it, or a run share.")


def _executions():
    from workflows.services import executions  # the engine's services, imported when used

    return executions


def _graph_refused(exc, what: str) -> ApiError:
    problems = getattr(exc, "problems", None)
    if problems is None:
        raise exc
    errors: dict[str, list[str]] = {}
    for problem in problems:
        key = f"{problem['node']}.{problem['field']}" if problem["node"] else problem["field"]
        errors.setdefault(key, []).append(problem["message"])
    return ApiError(400, "invalid_graph", f"The graph cannot be {what}: {len(problems)} "
                    "problem(s), each named by node and field.", errors=errors)


class WorkflowViewSet(ScopedModelViewSet):
    """Workflows: a draft graph of nodes and connections, published as immutable versions.

    Edit the draft through `nodes/` and `connections/`; `validate/` lists the graph's
    problems, `publish/` freezes it into a version, `deploy/` makes a version live,
    `execute/` runs one.
    """

    queryset = m.Workflow.objects.all()
    serializer_class = s.WorkflowSerializer
    lookup_value_regex = "[0-9]+"  # keeps workflows/nodes/ etc. apart from a workflow id

    def get_permissions(self):
        if self.action in ("validate", "publish", "deploy", "execute", "export", "import_"):
            return [SignedIn()]
        return super().get_permissions()

    def perform_scoped_create(self, serializer):
        serializer.instance = definitions.workflow_create(by=request_user(self.request),
                                                          **serializer.validated_data)

    def perform_update(self, serializer):
        with transaction.atomic():
            serializer.instance = definitions.workflow_update(serializer.instance,
                                                              **serializer.validated_data)

    def perform_destroy(self, instance):
        with transaction.atomic():
            definitions.workflow_delete(instance)

    @extend_schema(request=None, responses={200: s.ValidationResultSerializer},
                   summary="Check the draft graph",
                   description="Every problem names its node (null: the graph) and field: "
                               "cycles, nodes unreachable from a trigger, ports, node types, "
                               "config, expressions naming nodes that are not upstream.")
    @action(detail=True, methods=["post"])
    def validate(self, request, pk=None):
        problems = definitions.workflow_validate(self.get_object())
        return Response({"valid": not problems, "problems": problems})

    @extend_schema(request=s.PublishSerializer, responses={201: s.WorkflowVersionSerializer},
                   summary="Publish: freeze the draft into a new version",
                   description="400 with code `invalid_graph` listing the problems (keys "
                               "`<node>.<field>`) when the graph breaks a rule.")
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        workflow = self.get_object()
        _require(request, workflow, "change", "publish workflows")
        body = s.PublishSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            version = definitions.workflow_publish(workflow=workflow, by=request_user(request),
                                                   note=body.validated_data["note"])
        except definitions.ValidationError as exc:
            raise _graph_refused(exc, "published") from exc
        return Response(s.WorkflowVersionSerializer(
            version, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED)

    @extend_schema(request=s.DeploySerializer, responses={201: s.DeploymentSerializer},
                   summary="Deploy a version to an environment (an older one rolls back)",
                   description="The environment's previous deployment is deactivated in the "
                               "same transaction.")
    @action(detail=True, methods=["post"])
    def deploy(self, request, pk=None):
        workflow = self.get_object()
        _require(request, workflow, "change", "deploy workflows")
        body = s.DeploySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        version = None
        if body.validated_data.get("version") is not None:
            number = body.validated_data["version"]
            version = workflow.versions.filter(number=number).first()
            if version is None:
                raise ApiError(400, "invalid", "No such version.",
                               errors={"version": [f"{workflow} has no version {number}."]})
        deployment = definitions.workflow_deploy(
            workflow=workflow, version=version, by=request_user(request),
            environment=body.validated_data["environment"])
        return Response(s.DeploymentSerializer(
            deployment, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ExecuteSerializer,
                   responses={202: s.ExecutionSerializer,
                              200: OpenApiResponse(s.ExecutionSerializer,
                                                   "Finished within `wait` seconds.")},
                   summary="Run the workflow",
                   description="Answers 202 with the queued execution, or 200 with the "
                               "finished one when `wait` is given and it finishes in time. "
                               "409 `not_published` when there is no version to run.")
    @action(detail=True, methods=["post"])
    def execute(self, request, pk=None):
        workflow = self.get_object()
        _require_run(request, workflow)
        body = s.ExecuteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        version = None
        if data.get("version") is not None:
            version = workflow.versions.filter(number=data["version"]).first()
            if version is None:
                raise ApiError(400, "invalid", "No such version.", errors={
                    "version": [f"{workflow} has no version {data['version']}."]})
        executions = _executions()
        execution = executions.execution_start(workflow=workflow, input=data["input"],
                                               source="manual", version=version,
                                               by=request_user(request))
        if data["wait"]:
            execution = executions.execution_wait(execution, data["wait"])
        finished = execution.status in m.Execution.FINISHED
        return Response(s.ExecutionSerializer(execution,
                                              context=self.get_serializer_context()).data,
                        status=status.HTTP_200_OK if data["wait"] and finished
                        else status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: s.ExportSerializer},
                   summary="Export as JSON (the draft graph and settings)",
                   description="`POST workflows/import/` takes it back.")
    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        return Response(definitions.workflow_export(self.get_object()))

    @extend_schema(request=s.ImportSerializer, responses={201: s.WorkflowSerializer},
                   summary="Import an exported workflow as a new draft",
                   description="All or nothing; a name already used in the workspace "
                               "answers 400 naming it (give `name` to import under another).")
    @action(detail=False, methods=["post"], url_path="import", url_name="import")
    def import_(self, request):
        body = s.ImportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        principal = tenancy.principal_for(request)
        workspace = _visible_workspace(principal, body.validated_data["workspace"])
        if not tenancy.can_in_workspace(principal, workspace, m.Workflow, "add"):
            raise PermissionDenied("Your role in this workspace cannot create workflows.")
        try:
            workflow = definitions.workflow_import(
                workspace=workspace, data=body.validated_data["data"],
                by=request_user(request), name=body.validated_data.get("name") or None)
        except definitions.ValidationError as exc:
            raise _graph_refused(exc, "imported") from exc
        return Response(s.WorkflowSerializer(workflow,
                                             context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)


def _visible_workspace(principal, pk: int):
    from django.apps import apps
    from django.conf import settings

    model = apps.get_model(settings.TENANCY_WORKSPACE_MODEL)
    ids = tenancy.workspace_ids(principal, m.Workflow, "view")
    queryset = model._default_manager.filter(pk=pk)
    if ids is not None:
        queryset = queryset.filter(pk__in=ids)
    workspace = queryset.first()
    if workspace is None:
        raise ApiError(400, "invalid", "Invalid input.",
                       errors={"workspace": [f'Invalid pk "{pk}" - object does not exist.']})
    return workspace


class _WorkflowPartViewSet(ScopedModelViewSet):
    """Nodes, connections, shares: created and changed through the definitions services."""

    create_service = update_service = delete_service = None

    def perform_scoped_create(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("workspace", None)  # the workflow's; the serializer checked they agree
        serializer.instance = self.create_service(by=request_user(self.request), **data)

    def perform_update(self, serializer):
        with transaction.atomic():
            serializer.instance = type(self).update_service(serializer.instance,
                                                            **serializer.validated_data)

    def perform_destroy(self, instance):
        with transaction.atomic():
            type(self).delete_service(instance)


class NodeViewSet(_WorkflowPartViewSet):
    """The steps of workflows' draft graphs. `config` is checked against the type's JSON
    Schema (`node-types/`); strings may hold `{{ expressions }}`."""

    queryset = m.Node.objects.all()
    serializer_class = s.NodeSerializer
    create_service = staticmethod(definitions.node_create)
    update_service = staticmethod(definitions.node_update)
    delete_service = staticmethod(definitions.node_delete)


class ConnectionViewSet(_WorkflowPartViewSet):
    """Edges of the draft graph: `source_output` (an output of the source's type, or
    `error`) feeds `target_input`; a connection closing a cycle is refused."""

    queryset = m.Connection.objects.select_related("source", "target")
    serializer_class = s.ConnectionSerializer
    create_service = staticmethod(definitions.connection_create)
    update_service = staticmethod(definitions.connection_update)
    delete_service = staticmethod(definitions.connection_delete)


class WorkflowShareViewSet(_WorkflowPartViewSet):
    """Access to one workflow for a member or a custom role: view, run or edit."""

    queryset = m.WorkflowShare.objects.all()
    serializer_class = s.WorkflowShareSerializer
    create_service = staticmethod(definitions.share_create)
    update_service = staticmethod(definitions.share_update)
    delete_service = staticmethod(definitions.share_delete)


def _triggers():
    from workflows.services import triggers  # H4's services, imported when used

    return triggers


class TriggerViewSet(ScopedModelViewSet):
    """What starts executions: manual, webhook (secret shown once, at creation),
    schedule (`{"cron", "timezone"}`) or event (`{"event"}`)."""

    queryset = m.Trigger.objects.all()
    serializer_class = s.TriggerSerializer

    def get_serializer_class(self):
        return s.TriggerCreatedSerializer if self.action == "create" else self.serializer_class

    def perform_scoped_create(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("workspace", None)
        serializer.instance = _triggers().trigger_create(by=request_user(self.request), **data)

    def perform_update(self, serializer):
        with transaction.atomic():
            serializer.instance = _triggers().trigger_update(serializer.instance,
                                                             **serializer.validated_data)

    def perform_destroy(self, instance):
        with transaction.atomic():
            _triggers().trigger_delete(instance)


class WorkflowVersionViewSet(ScopedReadOnlyModelViewSet):
    """Published versions: the frozen graph executions run, with its checksum."""

    queryset = m.WorkflowVersion.objects.all()
    serializer_class = s.WorkflowVersionSerializer


class DeploymentViewSet(ScopedReadOnlyModelViewSet):
    """Versions made live per environment; at most one active per workflow and environment."""

    queryset = m.Deployment.objects.all()
    serializer_class = s.DeploymentSerializer


class ExecutionViewSet(ScopedReadOnlyModelViewSet):
    """Runs of workflows (traces), newest first; `cancel/` and `rerun/` them."""

    queryset = m.Execution.objects.all()
    serializer_class = s.ExecutionSerializer

    def get_permissions(self):
        if self.action in ("cancel", "rerun"):
            return [SignedIn()]
        return super().get_permissions()

    @extend_schema(request=None, responses={200: s.ExecutionSerializer},
                   summary="Cancel: no further node starts",
                   description="A node running now finishes on its own; a finished "
                               "execution is answered as it is.")
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        execution = self.get_object()
        _require_run(request, execution.workflow)
        execution = _executions().execution_cancel(execution=execution,
                                                   by=request_user(request))
        return Response(self.get_serializer(execution).data)

    @extend_schema(request=s.RerunSerializer, responses={202: s.ExecutionSerializer},
                   summary="Run again with the same input",
                   description="From the start, or from `from_node` reusing the outputs "
                               "of the nodes before it; on the same version unless "
                               "`current_version`.")
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None):
        execution = self.get_object()
        _require_run(request, execution.workflow)
        body = s.RerunSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        again = _executions().execution_rerun(
            execution=execution, from_node=body.validated_data.get("from_node") or None,
            current_version=body.validated_data["current_version"], by=request_user(request))
        return Response(self.get_serializer(again).data, status=status.HTTP_202_ACCEPTED)


class NodeExecutionViewSet(ScopedReadOnlyModelViewSet):
    """Spans: one attempt of one node in an execution (filter with `?execution=`)."""

    queryset = m.NodeExecution.objects.all()
    serializer_class = s.NodeExecutionSerializer


class ExecutionMetricViewSet(ScopedReadOnlyModelViewSet):
    """Per workflow and day: executions by status and p50/p95 durations."""

    queryset = m.ExecutionMetric.objects.all()
    serializer_class = s.ExecutionMetricSerializer


class NodeCategoryViewSet(CatalogueViewSet):
    """Node categories in picker order (global, read-only)."""

    queryset = m.NodeCategory.objects.all()
    serializer_class = s.NodeCategorySerializer


class NodeTypeViewSet(CatalogueViewSet):
    """The node types this server runs: config JSON Schema, input and output ports
    (global, read-only; mirrored from the code after every migrate)."""

    queryset = m.NodeType.objects.all()
    serializer_class = s.NodeTypeSerializer
