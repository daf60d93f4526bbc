"""Non-superuser staff in the admin are held to the same tenancy and role rules as the API."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from tests.factories import (
    ApiKeyFactory,
    MembershipFactory,
    ProjectFactory,
    UserFactory,
    WorkspaceFactory,
)
from workspaces.models import ApiKey, Membership, Project

pytestmark = pytest.mark.django_db


def staff_member(client, roles: dict, perms: list[str]):
    user = UserFactory(is_staff=True)
    for workspace, role in roles.items():
        MembershipFactory(workspace=workspace, user=user, role=role)
    user.user_permissions.add(*Permission.objects.filter(codename__in=perms))
    client.force_login(user)
    return user


def test_admin_cannot_seize_ownership_in_the_admin(client):
    ws = WorkspaceFactory()
    owner = MembershipFactory(workspace=ws, role="owner")
    me = staff_member(client, {ws: "admin"}, ["view_membership", "change_membership"])
    mine = Membership.objects.get(user=me)
    for membership, role in ((owner, "viewer"), (mine, "owner")):
        page = client.post(reverse("admin:workspaces_membership_change", args=[membership.pk]),
                           {"user": membership.user_id, "role": role, "custom_role": ""})
        assert page.status_code == 200 and b"transfer" in page.content
    assert Membership.objects.get(pk=owner.pk).role == "owner"
    assert Membership.objects.get(pk=mine.pk).role == "admin"


def test_rows_cannot_be_moved_or_created_where_the_role_is_too_low(client):
    a, b = WorkspaceFactory(), WorkspaceFactory()
    staff_member(client, {a: "admin", b: "viewer"},
                 ["view_apikey", "change_apikey", "view_project", "add_project"])
    key = ApiKeyFactory(workspace=a, role="admin")
    client.post(reverse("admin:workspaces_apikey_change", args=[key.pk]),
                {"name": key.name, "role": "admin", "workspace": b.pk})
    assert ApiKey.objects.get(pk=key.pk).workspace == a
    created = client.post(reverse("admin:workspaces_project_add"),
                          {"workspace": b.pk, "name": "Sneaky", "status": "active"})
    assert created.status_code == 200  # the form refuses B: not a valid choice
    assert not Project.objects.filter(name="Sneaky").exists()
    ok = client.post(reverse("admin:workspaces_project_add"),
                     {"workspace": a.pk, "name": "Fine", "status": "active"})
    assert ok.status_code == 302 and Project.objects.filter(name="Fine").exists()


def test_admin_forms_refuse_references_to_another_workspace(client):
    a, b = WorkspaceFactory(), WorkspaceFactory()
    staff_member(client, {a: "admin", b: "admin"}, ["view_project", "add_projectversion",
                                                    "view_projectversion"])
    foreign = ProjectFactory(workspace=b)
    response = client.post(reverse("admin:workspaces_projectversion_add"), {
        "workspace": a.pk, "project": foreign.pk, "number": 1, "notes": "", "snapshot": "{}"})
    assert response.status_code == 200
    assert b"This belongs to another workspace." in response.content


def test_staff_cannot_grant_themselves_privileges_or_touch_superusers(client):
    root = UserFactory(is_staff=True, is_superuser=True)
    me = staff_member(client, {}, ["view_user", "change_user"])
    client.post(reverse("admin:accounts_user_change", args=[me.pk]), {
        "email": me.email, "is_superuser": "on", "is_staff": "on", "status": "active",
        "timezone": "UTC", "language": "en", "preferences": "{}", "metadata": "{}",
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00", "is_active": "on",
        "receive_email": "on"})
    me.refresh_from_db()
    assert not me.is_superuser
    refused = client.post(reverse("admin:accounts_user_change", args=[root.pk]),
                          {"email": root.email, "status": "suspended"})
    assert refused.status_code == 403
    root.refresh_from_db()
    assert root.status == "active"

    from rest_framework.test import APIClient

    api = APIClient()
    api.force_login(me)
    response = api.patch(reverse("accounts-user-detail", args=[root.pk]),
                         {"password": "a-Taken-over-passphrase-1"}, format="json")
    assert response.status_code == 403
    root.refresh_from_db()
    assert not root.check_password("a-Taken-over-passphrase-1")


def test_admin_writes_go_through_the_same_services(client, superuser):
    import hashlib

    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.factories import SecretFactory
    from workspaces.models import File, SecretAccess, Workspace

    client.force_login(superuser)
    client.post(reverse("admin:workspaces_workspace_add"), {
        "name": "Via admin", "slug": "via-admin", "status": "active", "billing_plan": "free",
        "settings": "{}", "metadata": "{}", "usage_limits": "{}", "features_enabled": "{}"})
    workspace = Workspace.objects.get(slug="via-admin")
    assert list(Membership.objects.filter(workspace=workspace).values_list("user", "role")) == [
        (superuser.pk, "owner")]

    content = b"a|b\n1|2\n"
    client.post(reverse("admin:workspaces_file_add"), {
        "workspace": workspace.pk, "name": "report", "status": "active", "metadata": "{}",
        "access_permissions": "{}", "file": SimpleUploadedFile("x.csv", content, "text/csv")})
    stored = File.objects.get(workspace=workspace)
    assert (stored.checksum, stored.size, stored.content_type) == (
        hashlib.sha256(content).hexdigest(), len(content), "text/csv")

    secret = SecretFactory(workspace=workspace)
    client.post(reverse("admin:workspaces_secret_change", args=[secret.pk]), {
        "workspace": workspace.pk, "name": secret.name, "description": "", "value": "new"})
    assert SecretAccess.objects.filter(secret=secret, action="set").count() == 1
    assert client.get(reverse("admin:workspaces_invitation_add")).status_code == 403
