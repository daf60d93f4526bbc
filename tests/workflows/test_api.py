"""The workflows API: graph editing, validate/publish/deploy/execute/export/import,
executions' cancel and re-run, the catalogue, and who may do what."""

import pytest
from rest_framework.test import APIClient

from tests.contract.isolation import key_client
from tests.factories import (
    ApiKeyFactory,
    MembershipFactory,
    RoleFactory,
    UserFactory,
    WorkflowShareFactory,
    WorkspaceFactory,
)
from workflows.models import Deployment, Execution, Workflow
from workflows.services import definitions as d

pytestmark = pytest.mark.django_db

API = "/api/v1/workflows/"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def workspace():
    return WorkspaceFactory()


@pytest.fixture
def people(workspace):
    users = {}
    for role in ("owner", "member", "viewer"):
        users[role] = UserFactory()
        MembershipFactory(workspace=workspace, user=users[role], role=role)
    return users


@pytest.fixture
def member(people):
    return client_for(people["member"])


@pytest.fixture
def viewer(people):
    return client_for(people["viewer"])


def build(client, workspace) -> dict:
    """A workflow made through the API: start (trigger) → shape (set_values)."""
    workflow = client.post(API, {"workspace": workspace.pk, "name": "Orders",
                                 "input_schema": {"type": "object"}}, format="json")
    assert workflow.status_code == 201, workflow.content
    wid = workflow.json()["id"]
    nodes = {}
    for key, type_, config in (("start", "trigger", {}),
                               ("shape", "set_values", {"values": {"n": "{{ input.n }}"}})):
        made = client.post(API + "nodes/", {"workspace": workspace.pk, "workflow": wid,
                                            "key": key, "type": type_, "config": config},
                           format="json")
        assert made.status_code == 201, made.content
        nodes[key] = made.json()["id"]
    joined = client.post(API + "connections/", {
        "workspace": workspace.pk, "workflow": wid, "source": nodes["start"],
        "target": nodes["shape"]}, format="json")
    assert joined.status_code == 201, joined.content
    return {"id": wid, **nodes}


def test_build_validate_publish_and_deploy_through_the_api(member, workspace):
    ids = build(member, workspace)
    url = f"{API}{ids['id']}/"
    assert member.post(url + "validate/").json() == {"valid": True, "problems": []}

    published = member.post(url + "publish/", {"note": "first"}, format="json")
    assert published.status_code == 201, published.content
    assert published.json()["number"] == 1 and published.json()["note"] == "first"
    assert member.get(url).json()["version"] == 1
    member.post(url + "publish/", {}, format="json")

    deployed = member.post(url + "deploy/", {"version": 2}, format="json")
    assert deployed.status_code == 201 and deployed.json()["environment"] == "production"
    back = member.post(url + "deploy/", {"version": 1}, format="json")  # a rollback
    assert back.status_code == 201
    active = Deployment.objects.get(workflow_id=ids["id"], is_active=True)
    assert active.version.number == 1
    missing = member.post(url + "deploy/", {"version": 9}, format="json")
    assert missing.status_code == 400 and "version" in missing.json()["errors"]

    versions = member.get(API + "versions/", {"workflow": ids["id"]}).json()["results"]
    assert sorted(v["number"] for v in versions) == [1, 2]
    assert member.post(API + "versions/", {}, format="json").status_code == 405


def test_a_broken_graph_is_listed_by_validate_and_refused_by_publish(member, workspace):
    ids = build(member, workspace)
    member.post(API + "nodes/", {"workspace": workspace.pk, "workflow": ids["id"],
                                 "key": "island", "type": "merge"}, format="json")
    url = f"{API}{ids['id']}/"
    checked = member.post(url + "validate/").json()
    assert checked["valid"] is False
    assert checked["problems"][0]["node"] == "island"
    refused = member.post(url + "publish/", {}, format="json")
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid_graph"
    assert "island.connections" in refused.json()["errors"]


def test_connections_refuse_ports_and_cycles_naming_the_field(member, workspace):
    ids = build(member, workspace)
    bad_port = member.post(API + "connections/", {
        "workspace": workspace.pk, "workflow": ids["id"], "source": ids["shape"],
        "target": ids["start"]}, format="json")
    assert bad_port.status_code == 400 and "target_input" in bad_port.json()["errors"]
    loop = member.post(API + "connections/", {
        "workspace": workspace.pk, "workflow": ids["id"], "source": ids["shape"],
        "target": ids["shape"]}, format="json")
    assert loop.status_code == 400 and "cycle" in loop.json()["errors"]["target"][0]


def test_export_and_import_round_trip(member, workspace):
    ids = build(member, workspace)
    exported = member.get(f"{API}{ids['id']}/export/")
    assert exported.status_code == 200 and exported.json()["format"] == d.EXPORT_FORMAT
    clash = member.post(API + "import/", {"workspace": workspace.pk,
                                          "data": exported.json()}, format="json")
    assert clash.status_code == 400 and "Orders" in clash.json()["errors"]["name"][0]
    made = member.post(API + "import/", {"workspace": workspace.pk, "name": "Orders copy",
                                         "data": exported.json()}, format="json")
    assert made.status_code == 201, made.content
    copy = member.get(f"{API}{made.json()['id']}/export/").json()
    assert copy["graph"] == exported.json()["graph"]
    foreign = member.post(API + "import/", {"workspace": WorkspaceFactory().pk, "name": "X",
                                            "data": exported.json()}, format="json")
    assert foreign.status_code == 400 and "workspace" in foreign.json()["errors"]


def test_viewers_read_but_cannot_publish_deploy_or_execute(member, viewer, workspace):
    ids = build(member, workspace)
    url = f"{API}{ids['id']}/"
    assert viewer.get(url).status_code == 200
    assert viewer.post(url + "validate/").status_code == 200
    assert viewer.get(url + "export/").status_code == 200
    for action in ("publish/", "deploy/", "execute/"):
        assert viewer.post(url + action, {}, format="json").status_code == 403, action
    assert viewer.post(API + "import/", {"workspace": workspace.pk, "name": "Mine", "data":
                                         member.get(url + "export/").json()},
                       format="json").status_code == 403


def test_execute_queues_a_run_for_members_and_viewers_with_a_run_share(
        member, viewer, people, workspace):
    ids = build(member, workspace)
    url = f"{API}{ids['id']}/"
    unpublished = member.post(url + "execute/", {"input": {"n": 1}}, format="json")
    assert unpublished.status_code == 409 and unpublished.json()["code"] == "not_published"
    member.post(url + "publish/", {}, format="json")

    started = member.post(url + "execute/", {"input": {"n": 1}}, format="json")
    assert started.status_code == 202, started.content
    assert started.json()["status"] in ("queued", "running", "succeeded")
    bad = member.post(url + "execute/", {"input": [1]}, format="json")
    assert bad.status_code == 400 and "input" in bad.json()["errors"]
    too_long = member.post(url + "execute/", {"wait": 31}, format="json")
    assert too_long.status_code == 400 and "wait" in too_long.json()["errors"]

    workflow = Workflow.objects.get(pk=ids["id"])
    WorkflowShareFactory(workspace=workspace, workflow=workflow, user=people["viewer"],
                         access="view")
    assert viewer.post(url + "execute/", {}, format="json").status_code == 403
    workflow.shares.all().delete()
    WorkflowShareFactory(workspace=workspace, workflow=workflow, user=people["viewer"],
                         access="run")
    shared = viewer.post(url + "execute/", {"input": {"n": 2}}, format="json")
    assert shared.status_code == 202, shared.content
    # ...but the share is about running: the viewer still cannot publish.
    assert viewer.post(url + "publish/", {}, format="json").status_code == 403


def test_a_share_to_a_custom_role_lets_its_members_run(member, workspace):
    ids = build(member, workspace)
    member.post(f"{API}{ids['id']}/publish/", {}, format="json")
    role = RoleFactory(workspace=workspace)
    runner = UserFactory()
    MembershipFactory(workspace=workspace, user=runner, role="viewer", custom_role=role)
    workflow = Workflow.objects.get(pk=ids["id"])
    WorkflowShareFactory(workspace=workspace, workflow=workflow, user=None, role=role,
                         access="edit")
    answer = client_for(runner).post(f"{API}{ids['id']}/execute/", {}, format="json")
    assert answer.status_code == 202, answer.content


def test_cancel_and_rerun_an_execution(member, viewer, workspace):
    ids = build(member, workspace)
    url = f"{API}{ids['id']}/"
    member.post(url + "publish/", {}, format="json")
    started = member.post(url + "execute/", {"input": {"n": 1}}, format="json").json()
    execution_url = f"{API}executions/{started['id']}/"
    assert viewer.post(execution_url + "cancel/").status_code == 403
    cancelled = member.post(execution_url + "cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = member.post(execution_url + "rerun/", {}, format="json")
    assert again.status_code == 202, again.content
    assert again.json()["parent"] == started["id"]
    unknown = member.post(execution_url + "rerun/", {"from_node": "nope"}, format="json")
    assert unknown.status_code == 400 and "from_node" in unknown.json()["errors"]
    spans = member.get(API + "spans/", {"execution": again.json()["id"]})
    assert spans.status_code == 200


def test_another_workspace_gets_404_on_workflows_and_their_actions(member, workspace):
    ids = build(member, workspace)
    url = f"{API}{ids['id']}/"
    outsider = UserFactory()
    MembershipFactory(workspace=WorkspaceFactory(), user=outsider, role="owner")
    other = client_for(outsider)
    for method, action in (("get", ""), ("post", "validate/"), ("post", "publish/"),
                           ("post", "deploy/"), ("post", "execute/"), ("get", "export/")):
        answer = getattr(other, method)(url + action, {}, format="json")
        assert answer.status_code == 404, (action, answer.status_code)
    assert other.get(API + "nodes/" + f"{ids['shape']}/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_execute_with_wait_answers_200_with_the_result():
    workspace = WorkspaceFactory()
    user = UserFactory()
    MembershipFactory(workspace=workspace, user=user, role="member")
    client = client_for(user)
    ids = build(client, workspace)
    client.post(f"{API}{ids['id']}/publish/", {}, format="json")
    answer = client.post(f"{API}{ids['id']}/execute/", {"input": {"n": 3}, "wait": 10},
                         format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == Execution.Status.SUCCEEDED


def test_the_catalogue_is_read_by_any_user_or_key():
    plain = client_for(UserFactory())
    types = plain.get(API + "node-types/", {"page_size": 100}).json()["results"]
    assert {"trigger", "http_request", "set_values"} <= {t["key"] for t in types}
    key = key_client(ApiKeyFactory(role="viewer").raw)
    assert key.get(API + "node-categories/").status_code == 200
    assert plain.post(API + "node-types/", {}, format="json").status_code == 405
    assert APIClient().get(API + "node-types/").status_code == 401


def test_a_webhook_trigger_shows_its_secret_once(member, workspace):
    ids = build(member, workspace)
    made = member.post(API + "triggers/", {"workspace": workspace.pk, "workflow": ids["id"],
                                           "kind": "webhook", "config": {"auth": "token"}},
                       format="json")
    assert made.status_code == 201, made.content
    assert len(made.json()["secret"]) >= 16
    again = member.get(f"{API}triggers/{made.json()['id']}/").json()
    assert "secret" not in again and again["webhook_token"] == made.json()["webhook_token"]
