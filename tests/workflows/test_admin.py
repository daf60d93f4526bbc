"""Workflows in the back office: the workflow page with its graph, actions through the
services, JSON import/export, and an execution's run view with cancel and re-run."""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from core.api.errors import ApiError
from tests.factories import (
    ConnectionFactory,
    ExecutionFactory,
    MembershipFactory,
    NodeExecutionFactory,
    NodeFactory,
    TriggerFactory,
    UserFactory,
    WorkflowFactory,
    WorkflowShareFactory,
    WorkflowVersionFactory,
    WorkspaceFactory,
)
from workflows.admin import definitions as definitions_admin
from workflows.models import Execution, NodeExecution, Workflow

pytestmark = pytest.mark.django_db
MODELS = ("workflow", "node", "connection", "workflowversion", "deployment", "trigger",
          "execution", "nodeexecution", "executionmetric", "workflowshare")


def url(name: str, *args) -> str:
    return reverse(f"admin:workflows_{name}", args=args)


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def workspace():
    return WorkspaceFactory()


@pytest.fixture
def staff(client, workspace):
    """A staff member of the workspace (admin role) with the workflow permissions."""
    user = UserFactory(is_staff=True)
    MembershipFactory(workspace=workspace, user=user, role="admin")
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="workflows",
        codename__in=[f"{a}_{model}" for a in ("view", "add", "change", "delete")
                      for model in MODELS]))
    client.force_login(user)
    return user


@pytest.fixture
def workflow(workspace):
    """start → fetch, fetch.error → notify: a small draft graph."""
    workflow = WorkflowFactory(workspace=workspace, name="Orders <sync>")
    start = NodeFactory(workflow=workflow, workspace=workspace, key="start", name="Start")
    fetch = NodeFactory(workflow=workflow, workspace=workspace, key="fetch", name="Fetch",
                        type="merge")
    notify = NodeFactory(workflow=workflow, workspace=workspace, key="notify", name="Notify",
                         type="merge")
    ConnectionFactory(workflow=workflow, workspace=workspace, source=start, target=fetch)
    ConnectionFactory(workflow=workflow, workspace=workspace, source=fetch, target=notify,
                      source_output="error")
    return workflow


@pytest.fixture
def fake_services(monkeypatch):
    """Replace named services the admin looks up with fakes; records the calls."""
    calls, fakes = [], {}
    real = definitions_admin.service

    def lookup(module, name):
        if (module, name) not in fakes:
            return real(module, name)

        def recorded(*args, **kwargs):
            calls.append((name, args, kwargs))
            return fakes[module, name](*args, **kwargs)
        return recorded

    monkeypatch.setattr(definitions_admin, "service", lookup)
    return fakes, calls


# --- pages ---------------------------------------------------------------------------


def test_staff_open_the_lists_and_pages_of_their_workspace(client, staff, workflow):
    execution = ExecutionFactory(workspace=workflow.workspace, workflow=workflow)
    trigger = TriggerFactory(workspace=workflow.workspace, workflow=workflow)
    for name, obj in (("workflow", workflow), ("execution", execution),
                      ("trigger", trigger)):
        listing = client.get(url(f"{name}_changelist"))
        assert listing.status_code == 200
        assert url(f"{name}_change", obj.pk) in listing.content.decode()
        assert client.get(url(f"{name}_change", obj.pk)).status_code == 200


def test_the_workflow_page_draws_the_graph_and_limits_connections_to_its_nodes(
        client, staff, workflow):
    other = NodeFactory(workspace=workflow.workspace, key="elsewhere")  # another workflow
    page = client.get(url("workflow_change", workflow.pk)).content.decode()
    assert 'class="wf-graph"' in page
    for key in ("start", "fetch", "notify"):
        assert f'data-key="{key}"' in page
    assert "Orders &lt;sync&gt;" in page and "Orders <sync>" not in page
    connection_form = page.split('id="connections-group"', 1)[1]
    fetch = workflow.nodes.get(key="fetch")
    assert f'<option value="{fetch.pk}">fetch</option>' in connection_form
    assert f'value="{other.pk}"' not in connection_form


def test_validation_problems_are_listed_on_the_page(client, staff, workflow, monkeypatch):
    monkeypatch.setattr(definitions_admin, "graph_problems", lambda graph: [
        {"node": "notify", "field": "config.to", "message": "A recipient is required."}])
    page = client.get(url("workflow_change", workflow.pk)).content.decode()
    assert "A recipient is required." in page and "config.to" in page


def graph_form(workflow, new_connection: tuple[str, str]) -> dict:
    """The workflow page's POST: its nodes and connections as they are, a new node "later"
    and a new connection between the two keys given."""
    nodes = list(workflow.nodes.order_by("key"))  # fetch, notify, start
    connections = list(workflow.connections.order_by("id"))
    data = {"name": workflow.name, "description": "", "status": "active",
            "execution_timeout": 600, "retry_policy": "{}", "concurrency_limit": "",
            "timezone": "UTC", "metadata": "{}", "input_schema": "{}",
            "nodes-TOTAL_FORMS": 4, "nodes-INITIAL_FORMS": 3,
            "connections-TOTAL_FORMS": 3, "connections-INITIAL_FORMS": 2}
    for i, node in enumerate(nodes):
        data.update({f"nodes-{i}-id": node.pk, f"nodes-{i}-workflow": workflow.pk,
                     f"nodes-{i}-key": node.key, f"nodes-{i}-name": node.name,
                     f"nodes-{i}-type": node.type, f"nodes-{i}-config": "{}",
                     f"nodes-{i}-position_x": 0, f"nodes-{i}-position_y": 0,
                     f"nodes-{i}-retry_policy": "null"})
    data.update({"nodes-3-workflow": workflow.pk, "nodes-3-key": "later", "nodes-3-name": "",
                 "nodes-3-type": "merge", "nodes-3-config": "{}", "nodes-3-position_x": 0,
                 "nodes-3-position_y": 0, "nodes-3-retry_policy": "null"})
    for i, connection in enumerate(connections):
        data.update({f"connections-{i}-id": connection.pk,
                     f"connections-{i}-workflow": workflow.pk,
                     f"connections-{i}-source": connection.source_id,
                     f"connections-{i}-source_output": connection.source_output,
                     f"connections-{i}-target": connection.target_id,
                     f"connections-{i}-target_input": "main"})
    by_key = {n.key: n.pk for n in nodes}
    source, target = new_connection
    data.update({"connections-2-workflow": workflow.pk, "connections-2-source": by_key[source],
                 "connections-2-source_output": "main", "connections-2-target": by_key[target],
                 "connections-2-target_input": "main"})
    return data


def test_nodes_and_connections_are_saved_inline_in_the_workflows_workspace(
        client, staff, workflow):
    response = client.post(url("workflow_change", workflow.pk),
                           graph_form(workflow, ("start", "notify")))
    assert response.status_code == 302
    added = workflow.nodes.get(key="later")
    assert added.workspace_id == workflow.workspace_id
    assert workflow.connections.count() == 3
    assert set(workflow.connections.values_list("workspace_id", flat=True)) == \
        {workflow.workspace_id}


def test_a_connection_the_graph_rules_refuse_is_shown_on_its_row(client, staff, workflow):
    response = client.post(url("workflow_change", workflow.pk),
                           graph_form(workflow, ("notify", "start")))  # into the entry point
    assert response.status_code == 200
    rows = response.content.decode().split('id="connections-group"', 1)[1]
    assert "has no input &#x27;main&#x27;; its inputs: none (it is an entry point)." in rows
    assert not workflow.nodes.filter(key="later").exists()  # nothing half-saved
    assert workflow.connections.count() == 2


# --- actions through the services ----------------------------------------------------------


def test_publish_calls_the_service_and_links_the_new_version(client, staff, workflow,
                                                           fake_services):
    fakes, calls = fake_services
    version = WorkflowVersionFactory(workspace=workflow.workspace, workflow=workflow, number=4)
    fakes["definitions", "workflow_publish"] = lambda **kwargs: version
    response = client.post(url("workflow_changelist"),
                           {"action": "publish", "_selected_action": [workflow.pk]})
    assert response.status_code == 302
    assert calls == [("workflow_publish", (), {"workflow": workflow, "by": staff, "note": ""})]
    assert any("version 4" in message for message in said(response))


def test_a_refused_publish_is_an_error_message_naming_the_problem(client, staff, workflow,
                                                                 fake_services):
    fakes, _ = fake_services

    def refuse(**kwargs):
        raise ValidationError({"nodes": ["notify: not reachable from a trigger."]})
    fakes["definitions", "workflow_publish"] = refuse
    response = client.post(url("workflow_publish", workflow.pk), follow=True)
    assert response.status_code == 200
    assert any("not reachable from a trigger" in m for m in said(response))


def test_deploy_latest_version_calls_the_service(client, staff, workflow, fake_services):
    fakes, calls = fake_services
    fakes["definitions", "workflow_deploy"] = lambda **kwargs: "v2 in production"
    response = client.post(url("workflow_changelist"),
                           {"action": "deploy_latest", "_selected_action": [workflow.pk]})
    assert calls[0][0] == "workflow_deploy" and calls[0][2]["workflow"] == workflow
    assert any("Deployed v2 in production" in m for m in said(response))


def test_run_now_starts_an_execution_of_the_published_version(client, staff, workflow):
    WorkflowVersionFactory(workspace=workflow.workspace, workflow=workflow)
    response = client.post(url("workflow_run", workflow.pk), {"input": '{"customer": "ACME"}'})
    execution = Execution.objects.get(workflow=workflow)
    assert response.status_code == 302
    assert response["Location"] == url("execution_change", execution.pk)
    assert execution.input == {"customer": "ACME"} and execution.started_by == staff
    assert execution.source == Execution.Source.MANUAL


def test_run_now_without_a_published_version_says_so(client, staff, workflow):
    response = client.post(url("workflow_changelist"),
                           {"action": "run_now", "_selected_action": [workflow.pk]},
                           follow=True)
    assert response.status_code == 200
    assert any("no published version" in m for m in said(response))
    assert not Execution.objects.exists()


def test_run_now_with_bad_input_json_shows_the_form_again(client, staff, workflow):
    response = client.post(url("workflow_run", workflow.pk), {"input": "{oops"})
    assert response.status_code == 200
    assert "Enter a valid JSON" in response.content.decode()


# --- import and export -----------------------------------------------------------------


def test_export_downloads_the_services_json(client, staff, workflow, fake_services):
    fakes, _ = fake_services
    fakes["definitions", "workflow_export"] = lambda wf: {"format": "synapscale.workflow/1",
                                                          "name": wf.name}
    response = client.get(url("workflow_export", workflow.pk))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert json.loads(response.content)["name"] == "Orders <sync>"


@pytest.mark.parametrize(("text", "error"), [
    ("{not json", "This is not valid JSON: Expecting property name enclosed in double "
                  "quotes (line 1, column 2)."),
    ("[1, 2]", "The JSON must be an object"),
    ("", "Choose a file or paste the exported JSON."),
])
def test_bad_import_json_shows_a_clear_error(client, staff, workspace, text, error):
    response = client.post(url("workflow_import"), {"workspace": workspace.pk, "text": text})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert Workflow.objects.count() == 0


def test_import_calls_the_service_and_shows_its_refusals(client, staff, workspace,
                                                        fake_services):
    fakes, calls = fake_services

    def refuse(**kwargs):
        raise ValidationError({"graph": ["Unknown node type 'teleport'."]})
    fakes["definitions", "workflow_import"] = refuse
    payload = {"format": "synapscale.workflow/1", "name": "X", "graph": {}}
    response = client.post(url("workflow_import"),
                           {"workspace": workspace.pk, "text": json.dumps(payload)})
    assert response.status_code == 200
    assert "graph: Unknown node type &#x27;teleport&#x27;." in response.content.decode()
    assert calls[0][2]["data"] == payload and calls[0][2]["workspace"] == workspace

    made = WorkflowFactory(workspace=workspace)
    fakes["definitions", "workflow_import"] = lambda **kwargs: made
    response = client.post(url("workflow_import"),
                           {"workspace": workspace.pk, "text": json.dumps(payload),
                            "name": "Copy"})
    assert response.status_code == 302 and response["Location"] == url("workflow_change",
                                                                        made.pk)
    assert calls[-1][2]["name"] == "Copy"


def test_import_page_opens(client, staff):
    assert client.get(url("workflow_import")).status_code == 200
    assert url("workflow_import") in client.get(url("workflow_changelist")).content.decode()


# --- the execution page ----------------------------------------------------------------


def failed_run(workflow):
    t0 = timezone.now() - timedelta(minutes=1)
    execution = ExecutionFactory(
        workspace=workflow.workspace, workflow=workflow, status=Execution.Status.FAILED,
        started_at=t0, finished_at=t0 + timedelta(seconds=3), duration_ms=3000,
        failed_node="fetch", error="fetch: HTTP 503")
    start = NodeExecutionFactory(execution=execution, workspace=workflow.workspace,
                                 node_key="start", attempt=1, started_at=t0,
                                 finished_at=t0 + timedelta(milliseconds=20), duration_ms=20)
    for attempt in (1, 2):
        NodeExecutionFactory(
            execution=execution, workspace=workflow.workspace, node_key="fetch",
            node_type="http_request", node_name="Fetch", attempt=attempt,
            status=NodeExecution.Status.FAILED, parent_span_id=start.span_id, output=None,
            error=f"HTTP 503 <Service Unavailable> (attempt {attempt})",
            started_at=t0 + timedelta(seconds=attempt), duration_ms=400,
            finished_at=t0 + timedelta(seconds=attempt, milliseconds=400))
    return execution


def test_the_execution_page_shows_the_span_tree_and_the_timing_chart(client, staff,
                                                                     workflow):
    execution = failed_run(workflow)
    page = client.get(url("execution_change", execution.pk)).content.decode()
    assert page.count('class="wf-span ') == 3
    assert 'class="wf-span wf-depth-1" data-node="fetch" data-attempt="2"' in page
    assert 'class="wf-gantt"' in page and page.count('class="wf-bar"') == 3
    assert "HTTP 503 &lt;Service Unavailable&gt; (attempt 2)" in page
    assert "Re-run from failed node" in page


def test_rerun_from_the_failed_node_starts_a_new_execution(client, staff, workflow):
    execution = failed_run(workflow)
    response = client.post(url("execution_rerun", execution.pk), {"from_node": "start"})
    again = Execution.objects.exclude(pk=execution.pk).get()
    assert response["Location"] == url("execution_change", again.pk)
    assert again.parent == execution and again.source == Execution.Source.RERUN
    assert again.rerun_from == "start"


def test_rerun_from_a_node_the_version_lacks_is_an_error_message(client, staff, workflow):
    execution = failed_run(workflow)  # its version has only the nodes at the time: all three
    response = client.post(url("execution_rerun", execution.pk), {"from_node": "ghost"},
                           follow=True)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode() or \
        any("ghost" in m for m in said(response))
    assert Execution.objects.count() == 1


def test_cancel_a_queued_execution(client, staff, workflow):
    execution = ExecutionFactory(workspace=workflow.workspace, workflow=workflow,
                                 status=Execution.Status.QUEUED, started_at=None,
                                 finished_at=None, duration_ms=None)
    page = client.get(url("execution_change", execution.pk)).content.decode()
    assert url("execution_cancel", execution.pk) in page
    response = client.post(url("execution_cancel", execution.pk), follow=True)
    execution.refresh_from_db()
    assert execution.status == Execution.Status.CANCELLED
    assert any("cancel requested" in m for m in said(response))


def test_a_finished_execution_has_nothing_to_cancel(client, staff, workflow):
    execution = ExecutionFactory(workspace=workflow.workspace, workflow=workflow)
    response = client.get(url("execution_cancel", execution.pk))
    assert "nothing to cancel" in response.content.decode()


def test_staff_who_may_only_view_cannot_cancel_or_rerun(client, workspace, workflow):
    viewer = UserFactory(is_staff=True)
    MembershipFactory(workspace=workspace, user=viewer, role="viewer")
    viewer.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="workflows", codename__startswith="view_"))
    client.force_login(viewer)
    execution = failed_run(workflow)
    assert client.get(url("execution_change", execution.pk)).status_code == 200
    assert "Re-run from failed node" not in client.get(
        url("execution_change", execution.pk)).content.decode()
    assert client.post(url("execution_rerun", execution.pk)).status_code == 403
    assert client.post(url("execution_cancel", execution.pk)).status_code == 403



def test_a_viewer_with_a_run_share_may_cancel_in_the_admin_as_in_the_api(client, workspace,
                                                                        workflow):
    viewer = UserFactory(is_staff=True)
    MembershipFactory(workspace=workspace, user=viewer, role="viewer")
    viewer.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="workflows", codename__in=["view_execution",
                                                           "change_workflow"]))
    client.force_login(viewer)
    execution = ExecutionFactory(workspace=workspace, workflow=workflow,
                                 status=Execution.Status.QUEUED, started_at=None,
                                 finished_at=None, duration_ms=None)
    assert client.post(url("execution_cancel", execution.pk)).status_code == 403
    WorkflowShareFactory(workspace=workspace, workflow=workflow, user=viewer, access="run")
    client.post(url("execution_cancel", execution.pk))
    execution.refresh_from_db()
    assert execution.status == Execution.Status.CANCELLED

# --- triggers --------------------------------------------------------------------------


def test_a_webhook_trigger_shows_its_url_and_its_secret_once(client, staff, workflow):
    response = client.post(url("trigger_add"), {
        "workflow": workflow.pk, "kind": "webhook", "name": "Orders hook", "enabled": "on",
        "config": json.dumps({"auth": "token"})}, follow=True)
    assert response.status_code == 200
    trigger = workflow.triggers.get()
    assert trigger.workspace_id == workflow.workspace_id
    assert any("Copy it now" in m for m in said(response))
    page = client.get(url("trigger_change", trigger.pk)).content.decode()
    assert f"/hooks/workflows/{trigger.webhook_token}/" in page


def test_a_trigger_with_a_bad_schedule_shows_the_error_on_the_form(client, staff, workflow):
    response = client.post(url("trigger_add"), {
        "workflow": workflow.pk, "kind": "schedule", "name": "Nightly", "enabled": "on",
        "config": json.dumps({"cron": "not a cron"})})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not workflow.triggers.exists()


def test_services_that_refuse_on_save_become_a_message_not_a_500(client, staff, workflow,
                                                                monkeypatch):
    def refuse(*args, **kwargs):
        raise ApiError(409, "conflict", "Something changed meanwhile.")
    monkeypatch.setattr(definitions_admin, "service", lambda module, name: refuse)
    trigger = TriggerFactory(workspace=workflow.workspace, workflow=workflow)
    response = client.post(url("trigger_change", trigger.pk), {
        "workflow": workflow.pk, "kind": "manual", "name": "By hand", "enabled": "on",
        "config": "{}"}, follow=True)
    assert response.status_code == 200
    assert any("Something changed meanwhile." in m for m in said(response))


# --- with the real definition services ---------------------------------------------------


def test_publish_then_deploy_with_the_definition_services(client, staff, workflow):
    response = client.post(url("workflow_publish", workflow.pk), {"note": "First cut"},
                           follow=True)
    version = workflow.versions.get()
    assert version.number == 1 and version.note == "First cut"
    assert any("version 1" in m for m in said(response))
    response = client.post(url("workflow_deploy", workflow.pk), follow=True)
    deployment = workflow.deployments.get()
    assert deployment.version == version and deployment.is_active
    assert any("Deployed" in m for m in said(response))


def test_an_unreachable_node_is_listed_and_blocks_publishing(client, staff, workflow):
    NodeFactory(workflow=workflow, workspace=workflow.workspace, key="orphan", type="merge")
    page = client.get(url("workflow_change", workflow.pk)).content.decode()
    problems = page.split('class="wf-problems"', 1)[1].split("</table>", 1)[0]
    assert "orphan" in problems
    publish_page = client.get(url("workflow_publish", workflow.pk)).content.decode()
    assert "cannot be published until these problems are fixed" in publish_page
    assert 'value="Publish"' not in publish_page
    response = client.post(url("workflow_publish", workflow.pk), follow=True)
    assert any("orphan" in m for m in said(response))
    assert not workflow.versions.exists()


def test_export_then_import_makes_a_copy(client, staff, workflow):
    exported = client.get(url("workflow_export", workflow.pk)).content
    response = client.post(url("workflow_import"), {
        "workspace": workflow.workspace_id, "name": "Orders copy",
        "file": SimpleUploadedFile("orders.workflow.json", exported, "application/json")})
    copy = Workflow.objects.get(name="Orders copy")
    assert response.status_code == 302
    assert sorted(copy.nodes.values_list("key", flat=True)) == ["fetch", "notify", "start"]
    assert copy.connections.count() == 2


def test_an_older_version_is_deployed_again_to_roll_back(client, staff, workflow):
    first = WorkflowVersionFactory(workspace=workflow.workspace, workflow=workflow, number=1)
    second = WorkflowVersionFactory(workspace=workflow.workspace, workflow=workflow, number=2)
    client.post(url("workflowversion_changelist"),
                {"action": "deploy", "_selected_action": [second.pk]})
    response = client.post(url("workflowversion_changelist"),
                           {"action": "deploy", "_selected_action": [first.pk]}, follow=True)
    assert workflow.deployments.get(is_active=True).version == first
    assert any("Deployed" in m for m in said(response))


def test_executions_filter_by_duration(client, staff, workflow):
    quick = ExecutionFactory(workspace=workflow.workspace, workflow=workflow, duration_ms=300)
    slow = ExecutionFactory(workspace=workflow.workspace, workflow=workflow,
                            duration_ms=120_000)
    page = client.get(url("execution_changelist"), {"duration": "1-10min"}).content.decode()
    assert url("execution_change", slow.pk) in page
    assert url("execution_change", quick.pk) not in page


def test_the_run_view_needs_no_inline_script(client, staff, workflow):
    page = client.get(url("execution_change", failed_run(workflow).pk)).content.decode()
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts and all("src=" in tag for tag in scripts), scripts
    assert "onclick" not in page and "javascript:" not in page


def test_large_span_output_is_offered_as_a_download(client, staff, workflow):
    execution = failed_run(workflow)
    span = execution.spans.get(node_key="start")
    span.output = {"$ref": "file", "bytes": 70_000}
    span.output_file.save("start-output.json", ContentFile(b'{"rows": []}'), save=False)
    NodeExecution.objects.filter(pk=span.pk).update(output=span.output,
                                                    output_file=span.output_file.name)
    page = client.get(url("execution_change", execution.pk)).content.decode()
    download = url("nodeexecution_output", span.pk)
    assert "Kept in file storage (70,000 bytes)" in page and download in page
    response = client.get(download)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b'{"rows": []}'
    assert 'data-status="failed"' in page.split('id="run-graph"', 1)[1]


def test_the_trigger_filter_lists_unnamed_triggers_by_workflow_in_one_query(
        client, staff, workflow, django_assert_max_num_queries):
    for _ in range(5):
        trigger = TriggerFactory(workspace=workflow.workspace, workflow=workflow, name="")
        ExecutionFactory(workspace=workflow.workspace, workflow=workflow, trigger=trigger)
    client.get(url("execution_changelist"))  # warm caches
    with django_assert_max_num_queries(20):
        page = client.get(url("execution_changelist")).content.decode()
    assert page.count("Manual trigger of Orders &lt;sync&gt;") >= 5
