"""Checks that one tenant's principal cannot reach another tenant's rows.

Plain functions returning the problems found, so the generic tests assert
"no problems" and a test of the tests can show they catch a leaky viewset.
"""

from dataclasses import dataclass

from rest_framework.test import APIClient

from tests.factories import ApiKeyFactory, MembershipFactory, UserFactory, WorkspaceFactory
from workspaces.models import Workspace

from .resources import make


@dataclass
class Tenant:
    workspace: Workspace
    clients: dict  # role name -> APIClient signed in as a member with that role
    key_clients: dict  # role name -> APIClient using an API key with that role


def session_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def key_client(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def make_tenant() -> Tenant:
    workspace = WorkspaceFactory()
    clients = {}
    for role in ("owner", "admin", "member", "viewer"):
        user = UserFactory()
        MembershipFactory(workspace=workspace, user=user, role=role)
        clients[role] = session_client(user)
    keys = {role: key_client(ApiKeyFactory(workspace=workspace, role=role).raw)
            for role in ("admin", "viewer")}
    return Tenant(workspace, clients, keys)


def object_in(resource, workspace):
    if resource.model is Workspace:
        return workspace
    return make(resource, workspace=workspace)


def leaks(client, list_url: str, detail_url: str, obj, operations) -> list[str]:
    """What ``client`` (of another tenant) could see or do to ``obj``."""
    problems = []
    listed = client.get(list_url, {"page_size": 500})
    if listed.status_code == 200:
        if obj.pk in [row.get("id") for row in listed.json().get("results", [])]:
            problems.append("listed")
    elif listed.status_code != 403:
        problems.append(f"list answered {listed.status_code}")
    shown = client.get(detail_url)
    if shown.status_code != 404:
        problems.append(f"retrieve answered {shown.status_code}")
    if "update" in operations:
        for verb in (client.put, client.patch):
            answered = verb(detail_url, {}, format="json").status_code
            if answered != 404:
                problems.append(f"{verb.__name__} answered {answered}")
    if "delete" in operations:
        answered = client.delete(detail_url).status_code
        if answered != 404:
            problems.append(f"delete answered {answered}")
        if not type(obj)._default_manager.filter(pk=obj.pk).exists():
            problems.append("deleted")
    return problems
