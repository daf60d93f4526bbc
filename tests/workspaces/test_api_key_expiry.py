"""An API key cannot outlive what it was given: through a key, expiry only moves earlier."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.contract.isolation import key_client, session_client
from tests.factories import ApiKeyFactory, MembershipFactory, UserFactory, WorkspaceFactory
from workspaces.models import ApiKey
from workspaces.services import keys

pytestmark = pytest.mark.django_db


def detail(key) -> str:
    return reverse("workspaces-apikey-detail", args=[key.pk])


@pytest.fixture
def expiring_admin_key():
    return ApiKeyFactory(role="admin", expires_at=timezone.now() + timedelta(hours=1))


def test_a_key_cannot_remove_its_own_expiry(expiring_admin_key):
    client = key_client(expiring_admin_key.raw)
    answer = client.patch(detail(expiring_admin_key), {"expires_at": None}, format="json")
    assert answer.status_code == 403
    assert answer.json()["code"] == "key_expiry_extension"
    assert "expires_at" in answer.json()["errors"]
    expiring_admin_key.refresh_from_db()
    assert expiring_admin_key.expires_at is not None


def test_a_key_cannot_push_its_own_expiry_later(expiring_admin_key):
    client = key_client(expiring_admin_key.raw)
    later = (expiring_admin_key.expires_at + timedelta(days=30)).isoformat()
    answer = client.patch(detail(expiring_admin_key), {"expires_at": later}, format="json")
    assert answer.status_code == 403
    assert answer.json()["code"] == "key_expiry_extension"
    before = expiring_admin_key.expires_at
    expiring_admin_key.refresh_from_db()
    assert expiring_admin_key.expires_at == before


def test_a_key_can_bring_its_expiry_earlier(expiring_admin_key):
    client = key_client(expiring_admin_key.raw)
    sooner = expiring_admin_key.expires_at - timedelta(minutes=30)
    answer = client.patch(detail(expiring_admin_key), {"expires_at": sooner.isoformat()},
                          format="json")
    assert answer.status_code == 200
    expiring_admin_key.refresh_from_db()
    assert expiring_admin_key.expires_at == sooner


def test_a_key_cannot_extend_a_key_it_made(expiring_admin_key):
    client = key_client(expiring_admin_key.raw)
    made = client.post(reverse("workspaces-apikey-list"), {
        "workspace": expiring_admin_key.workspace_id, "name": "child", "role": "member"},
        format="json")
    assert made.status_code == 201
    child = ApiKey.objects.get(pk=made.json()["id"])
    assert child.expires_at == expiring_admin_key.expires_at  # capped at creation already
    for value in (None, (child.expires_at + timedelta(days=1)).isoformat()):
        answer = client.patch(detail(child), {"expires_at": value}, format="json")
        assert answer.status_code == 403, value
        assert answer.json()["code"] == "key_expiry_extension"
    # Nor can the child (an admin key could otherwise be minted to do it) free itself.
    child_client = key_client(made.json()["key"])
    assert child_client.patch(detail(child), {"expires_at": None},
                              format="json").status_code == 403
    child.refresh_from_db()
    assert child.expires_at == expiring_admin_key.expires_at


def test_an_unchanged_expiry_and_other_fields_stay_editable_through_a_key(expiring_admin_key):
    client = key_client(expiring_admin_key.raw)
    answer = client.patch(detail(expiring_admin_key), {
        "name": "renamed", "expires_at": expiring_admin_key.expires_at.isoformat()},
        format="json")
    assert answer.status_code == 200
    assert answer.json()["name"] == "renamed"


def test_a_workspace_admin_user_can_extend_or_remove_an_expiry(expiring_admin_key):
    admin = UserFactory()
    MembershipFactory(workspace=expiring_admin_key.workspace, user=admin, role="admin")
    client = session_client(admin)
    later = expiring_admin_key.expires_at + timedelta(days=30)
    answer = client.patch(detail(expiring_admin_key), {"expires_at": later.isoformat()},
                          format="json")
    assert answer.status_code == 200
    expiring_admin_key.refresh_from_db()
    assert expiring_admin_key.expires_at == later
    assert client.patch(detail(expiring_admin_key), {"expires_at": None},
                        format="json").status_code == 200
    expiring_admin_key.refresh_from_db()
    assert expiring_admin_key.expires_at is None


def test_the_service_holds_the_rule_for_every_door(expiring_admin_key):
    with pytest.raises(keys.KeyRuleError) as refused:
        keys.api_key_update(key=expiring_admin_key, changes={"expires_at": None},
                            acting_key=expiring_admin_key)
    assert refused.value.code == "key_expiry_extension"
    viewer_key = ApiKeyFactory(workspace=expiring_admin_key.workspace, role="viewer")
    member_key = ApiKeyFactory(workspace=expiring_admin_key.workspace, role="member")
    with pytest.raises(keys.KeyRuleError) as refused:
        keys.api_key_update(key=viewer_key, changes={"role": "admin"}, acting_key=member_key)
    assert refused.value.code == "key_role_above_own"


# Item 5: a key created without a role took the model's default, not a TypeError (500).

def test_creating_a_key_without_a_role_gives_the_model_default():
    workspace = WorkspaceFactory()
    admin = UserFactory()
    MembershipFactory(workspace=workspace, user=admin, role="admin")
    answer = session_client(admin).post(reverse("workspaces-apikey-list"), {
        "workspace": workspace.pk, "name": "x"}, format="json")
    assert answer.status_code == 201, answer.content
    assert answer.json()["role"] == ApiKey._meta.get_field("role").default == "viewer"
    assert answer.json()["key"]


def test_a_key_minting_a_key_without_a_role_gives_the_default_too(expiring_admin_key):
    answer = key_client(expiring_admin_key.raw).post(reverse("workspaces-apikey-list"), {
        "workspace": expiring_admin_key.workspace_id, "name": "x"}, format="json")
    assert answer.status_code == 201, answer.content
    assert answer.json()["role"] == "viewer"
