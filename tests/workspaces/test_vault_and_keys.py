"""Secrets are unreadable without the key and survive rotation; API keys act narrowly."""

import io
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEntry
from tests.contract.isolation import key_client, make_tenant
from tests.factories import ApiKeyFactory, ProjectFactory, SecretFactory
from workspaces.models import ApiKey, Secret, SecretAccess
from workspaces.services import vault

pytestmark = pytest.mark.django_db
VALUE = "sk-live-4f9a1c0e7b2d"


def raw_ciphertext(secret_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT ciphertext FROM workspaces_secret WHERE id = %s", [secret_id])
        return cursor.fetchone()[0]


def test_secret_values_are_not_in_the_database_or_api_or_audit():
    tenant = make_tenant()
    created = tenant.clients["admin"].post(reverse("workspaces-secret-list"), {
        "workspace": tenant.workspace.pk, "name": "OPENAI_KEY", "value": VALUE}, format="json")
    assert created.status_code == 201
    assert VALUE not in created.content.decode()
    stored = raw_ciphertext(created.json()["id"])
    assert VALUE not in stored and VALUE.encode() not in stored.encode()
    listed = tenant.clients["admin"].get(reverse("workspaces-secret-list")).content.decode()
    assert VALUE not in listed and "ciphertext" not in listed
    assert VALUE not in str(list(AuditEntry.objects.values("before", "after")))


def test_reveal_needs_admin_and_is_recorded():
    tenant = make_tenant()
    secret = vault.secret_create(workspace=tenant.workspace, name="TOKEN", value=VALUE)
    url = reverse("workspaces-secret-reveal", args=[secret.pk])
    assert tenant.clients["member"].post(url).status_code == 403
    revealed = tenant.clients["admin"].post(url, REMOTE_ADDR="192.0.2.44")
    assert revealed.status_code == 200 and revealed.json() == {"value": VALUE}
    assert revealed["Cache-Control"] == "no-store"
    access = SecretAccess.objects.get(secret=secret)
    assert access.action == "reveal" and access.ip_address == "192.0.2.44"


def test_rotate_secrets_reencrypts_under_the_new_key(settings):
    secrets = [SecretFactory(ciphertext=vault.encrypt(f"value-{n}")) for n in range(3)]
    old_key = settings.SECRETS_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.SECRETS_ENCRYPTION_KEYS = [new_key, old_key]
    out = io.StringIO()
    call_command("rotate_secrets", stdout=out)
    assert "Re-encrypted 3 secret(s)." in out.getvalue()
    settings.SECRETS_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    for n, secret in enumerate(secrets):
        secret.refresh_from_db()
        assert vault.decrypt(secret.ciphertext) == f"value-{n}"
        assert Fernet(new_key.encode()).decrypt(raw_ciphertext(secret.pk).encode()) == \
            f"value-{n}".encode()


def test_api_key_is_shown_once_and_stored_hashed():
    tenant = make_tenant()
    created = tenant.clients["admin"].post(reverse("workspaces-apikey-list"), {
        "workspace": tenant.workspace.pk, "name": "CI", "role": "member"}, format="json")
    assert created.status_code == 201
    raw = created.json()["key"]
    key = ApiKey.objects.get(pk=created.json()["id"])
    assert raw.startswith(key.prefix + ".") and raw.split(".", 1)[1] not in key.hashed_key
    shown = tenant.clients["admin"].get(reverse("workspaces-apikey-detail", args=[key.pk]))
    assert "key" not in shown.json() and "hashed_key" not in shown.json()
    client = key_client(raw)
    assert client.get(reverse("workspaces-project-list")).status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_api_keys_act_only_within_their_workspace_and_role():
    tenant, other = make_tenant(), make_tenant()
    key = ApiKeyFactory(workspace=tenant.workspace, role="member")
    ProjectFactory(workspace=other.workspace)
    client = key_client(key.raw)
    ids = {row["workspace"] for row in client.get(reverse("workspaces-project-list"))
           .json()["results"]}
    assert ids <= {tenant.workspace.pk}
    made = client.post(reverse("workspaces-project-list"),
                       {"workspace": tenant.workspace.pk, "name": "By key"}, format="json")
    assert made.status_code == 201
    assert client.get(reverse("accounts-user-list")).status_code == 403
    assert client.post(reverse("workspaces-apikey-list"), {
        "workspace": tenant.workspace.pk, "name": "escalate", "role": "admin"},
        format="json").status_code == 403


def test_revoked_or_expired_keys_are_refused():
    tenant = make_tenant()
    revoked, expired = (ApiKeyFactory(workspace=tenant.workspace) for _ in range(2))
    assert tenant.clients["admin"].post(
        reverse("workspaces-apikey-revoke", args=[revoked.pk])).status_code == 200
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(1))
    for key in (revoked, expired):
        response = key_client(key.raw).get(reverse("workspaces-project-list"))
        assert response.status_code == 401
        assert response.json()["message"] == "Invalid, expired or revoked API key."
    assert key_client("nonsense").get(reverse("workspaces-project-list")).status_code == 401


def test_secret_admin_form_never_shows_the_value(client, superuser):
    secret = SecretFactory(ciphertext=vault.encrypt(VALUE))
    client.force_login(superuser)
    page = client.get(reverse("admin:workspaces_secret_change", args=[secret.pk]))
    assert page.status_code == 200
    assert VALUE not in page.content.decode() and secret.ciphertext not in page.content.decode()
    assert Secret.objects.count() == 1


def test_owner_keys_cannot_be_created():
    tenant = make_tenant()
    response = tenant.clients["admin"].post(reverse("workspaces-apikey-list"), {
        "workspace": tenant.workspace.pk, "name": "root", "role": "owner"}, format="json")
    assert response.status_code == 400 and "role" in response.json()["errors"]
    assert not ApiKey.objects.filter(name="root").exists()


def test_keys_made_by_keys_never_outlive_their_maker():
    tenant = make_tenant()
    maker = ApiKeyFactory(workspace=tenant.workspace, role="admin",
                          expires_at=timezone.now() + timedelta(days=1))
    made = key_client(maker.raw).post(reverse("workspaces-apikey-list"), {
        "workspace": tenant.workspace.pk, "name": "child", "role": "member"}, format="json")
    assert made.status_code == 201
    assert ApiKey.objects.get(pk=made.json()["id"]).expires_at == maker.expires_at
