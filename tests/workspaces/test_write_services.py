"""Every door writes through the same service: the admin and the API leave the same trace.

Projects and membership changes land in the workspace's activity feed whoever
makes them; secrets and files added in the admin go through the vault and the
file store like API uploads.
"""

from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from core import live_settings
from tests.factories import MembershipFactory, ProjectFactory, TagFactory, WorkspaceFactory
from workspaces.models import Activity, File, Membership, Project, Secret
from workspaces.services import files, vault

from .test_admin_tenancy import staff_member

pytestmark = pytest.mark.django_db


def feed(workspace, verb: str):
    return list(Activity.objects.filter(workspace=workspace, verb=verb).order_by("id"))


def api_as(workspace, role: str):
    user = MembershipFactory(workspace=workspace, role=role).user
    client = APIClient()
    client.force_login(user)
    return client, user


# --- projects ------------------------------------------------------------------------------


def test_a_project_added_in_the_admin_is_in_the_activity_feed(client):
    ws = WorkspaceFactory()
    me = staff_member(client, {ws: "admin"}, ["view_project", "add_project", "change_project"])
    tag = TagFactory(workspace=ws)
    response = client.post(reverse("admin:workspaces_project_add"),
                           {"workspace": ws.pk, "name": "Launch", "description": "",
                            "status": "active", "tags": [tag.pk]})
    assert response.status_code == 302
    project = Project.objects.get(name="Launch")
    assert project.created_by == me and list(project.tags.all()) == [tag]
    [created] = feed(ws, "project.created")
    assert (created.actor, created.target_id) == (me, str(project.pk))

    client.post(reverse("admin:workspaces_project_change", args=[project.pk]),
                {"workspace": ws.pk, "name": "Launch", "description": "",
                 "status": "archived", "tags": [], "created_by": me.pk})
    [updated] = feed(ws, "project.updated")
    assert set(updated.data["fields"]) == {"status", "tags"} and updated.actor == me


def test_the_api_records_project_changes_the_same_way(db):
    ws = WorkspaceFactory()
    api, user = api_as(ws, "member")
    created = api.post(reverse("workspaces-project-list"),
                       {"workspace": ws.pk, "name": "Site"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["created_by"] == user.pk
    assert [a.actor for a in feed(ws, "project.created")] == [user]

    pk = created.json()["id"]
    detail = reverse("workspaces-project-detail", args=[pk])
    assert api.patch(detail, {"description": "New copy"}, format="json").status_code == 200
    assert api.patch(detail, {"description": "New copy"}, format="json").status_code == 200
    [updated] = feed(ws, "project.updated")  # an unchanged save adds nothing
    assert updated.data == {"fields": ["description"]}


# --- memberships ---------------------------------------------------------------------------


def test_membership_changes_are_in_the_feed_from_api_and_admin(client):
    ws = WorkspaceFactory()
    MembershipFactory(workspace=ws, role="owner")
    api, admin_user = api_as(ws, "admin")
    member = MembershipFactory(workspace=ws, role="member")
    response = api.patch(reverse("workspaces-membership-detail", args=[member.pk]),
                         {"role": "viewer"}, format="json")
    assert response.status_code == 200
    [change] = feed(ws, "member.role_changed")
    assert change.data["from"] == "member" and change.data["to"] == "viewer"
    assert change.actor == admin_user

    staff = staff_member(client, {ws: "admin"}, ["view_membership", "change_membership",
                                                 "delete_membership"])
    client.post(reverse("admin:workspaces_membership_change", args=[member.pk]),
                {"workspace": ws.pk, "user": member.user_id, "role": "member",
                 "custom_role": ""})
    assert [a.actor for a in feed(ws, "member.role_changed")] == [admin_user, staff]
    response = client.post(reverse("admin:workspaces_membership_delete", args=[member.pk]),
                           {"post": "yes"})
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=member.pk).exists()
    assert [a.actor for a in feed(ws, "member.removed")] == [staff]


def test_the_owner_membership_cannot_be_deleted_in_the_admin(client):
    ws = WorkspaceFactory()
    owner = MembershipFactory(workspace=ws, role="owner")
    staff_member(client, {ws: "admin"}, ["view_membership", "delete_membership"])
    page = client.get(reverse("admin:workspaces_membership_delete", args=[owner.pk]))
    assert page.status_code == 403
    changelist = reverse("admin:workspaces_membership_changelist")
    client.post(changelist, {"action": "delete_selected", "_selected_action": [owner.pk],
                             "post": "yes"})
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_nobody_is_added_as_owner_in_the_admin(client):
    ws = WorkspaceFactory()
    MembershipFactory(workspace=ws, role="owner")
    elsewhere = WorkspaceFactory()  # the staff member sees people of their own workspaces
    newcomer = MembershipFactory(workspace=elsewhere).user
    staff_member(client, {ws: "admin", elsewhere: "admin"},
                 ["view_membership", "add_membership"])
    page = client.post(reverse("admin:workspaces_membership_add"),
                       {"workspace": ws.pk, "user": newcomer.pk, "role": "owner",
                        "custom_role": ""})
    assert page.status_code == 200 and b"transfer" in page.content
    added = client.post(reverse("admin:workspaces_membership_add"),
                        {"workspace": ws.pk, "user": newcomer.pk, "role": "member",
                         "custom_role": ""})
    assert added.status_code == 302, added.context["adminform"].form.errors
    assert [a.data for a in feed(ws, "member.added")] == [{"role": "member"}]


# --- secrets and files ---------------------------------------------------------------------


def test_a_secret_added_in_the_admin_goes_through_the_vault(client):
    ws = WorkspaceFactory()
    me = staff_member(client, {ws: "admin"}, ["view_secret", "add_secret"])
    with mock.patch.object(vault, "secret_create", wraps=vault.secret_create) as spy:
        response = client.post(reverse("admin:workspaces_secret_add"),
                               {"workspace": ws.pk, "name": "SMTP", "description": "",
                                "value": "hunter2"})
    assert response.status_code == 302
    secret = Secret.objects.get(name="SMTP")
    assert spy.call_count == 1
    assert secret.created_by == me and vault.decrypt(secret.ciphertext) == "hunter2"
    # The admin's own bookkeeping points at the row the service wrote.
    assert response.url == reverse("admin:workspaces_secret_changelist")


def test_a_file_added_in_the_admin_goes_through_the_file_store(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ws = WorkspaceFactory()
    me = staff_member(client, {ws: "member"}, ["view_file", "add_file"])
    upload = SimpleUploadedFile("notes.txt", b"hello", content_type="text/plain")
    with mock.patch.object(files, "file_store", wraps=files.file_store) as spy:
        response = client.post(reverse("admin:workspaces_file_add"),
                               {"workspace": ws.pk, "name": "Notes", "file": upload,
                                "status": "active", "metadata": "{}",
                                "access_permissions": "{}"})
    assert response.status_code == 302, response.content
    stored = File.objects.get(name="Notes")
    assert spy.call_count == 1
    assert (stored.size, stored.content_type, stored.uploaded_by) == (5, "text/plain", me)
    assert stored.checksum.startswith("2cf24dba")  # SHA-256 of "hello"


def test_project_factory_rows_get_no_feed_entry_by_themselves(db):
    # Sanity: the feed entries above come from the services, not from a model signal.
    project = ProjectFactory()
    assert not feed(project.workspace, "project.created")


def test_an_oversized_file_in_the_admin_is_a_form_error(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    live_settings.setting_set(key="upload_max_mb", value=1)  # staff's limit, live
    ws = WorkspaceFactory()
    staff_member(client, {ws: "member"}, ["view_file", "add_file"])
    response = client.post(reverse("admin:workspaces_file_add"),
                           {"workspace": ws.pk, "name": "Big", "status": "active",
                            "file": SimpleUploadedFile("big.txt", b"x" * (1024 * 1024 + 1)),
                            "metadata": "{}", "access_permissions": "{}"})
    assert response.status_code == 200
    assert "Files may be at most" in str(response.context["adminform"].form.errors["file"])
    assert not File.objects.filter(name="Big").exists()
