"""Invite → email → accept by a new user → membership with the invited role."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from tests.contract.isolation import make_tenant, session_client
from workspaces.models import Activity, Invitation, Membership

pytestmark = pytest.mark.django_db


def invite(tenant, email="new.person@example.com", role="admin"):
    response = tenant.clients["admin"].post(reverse("workspaces-invitation-list"), {
        "workspace": tenant.workspace.pk, "email": email, "role": role}, format="json")
    assert response.status_code == 201, response.content
    return response.json(), re.search(r"token=(\S+)", mail.outbox[-1].body).group(1)


def test_invitation_end_to_end(anon_client):
    tenant = make_tenant()
    body, token = invite(tenant)
    assert body["status"] == "pending" and mail.outbox[-1].to == ["new.person@example.com"]
    assert token not in str(Invitation.objects.values())  # only a hash is stored

    registered = anon_client.post(reverse("auth-register"), {
        "email": "new.person@example.com", "password": "a-Very-long-passphrase-42"},
        format="json")
    assert registered.status_code == 202  # answered alike for new and known addresses
    newcomer = session_client(User.objects.get(email="new.person@example.com"))
    accepted = newcomer.post(reverse("invitation-accept"), {"token": token}, format="json")
    assert accepted.status_code == 201, accepted.content
    membership = Membership.objects.get(workspace=tenant.workspace, user__email=body["email"])
    assert membership.role == "admin"
    assert Invitation.objects.get(pk=body["id"]).status == "accepted"
    assert Activity.objects.filter(workspace=tenant.workspace, verb="member.joined").exists()
    again = newcomer.post(reverse("invitation-accept"), {"token": token}, format="json")
    assert again.status_code == 400 and again.json()["code"] == "not_pending"


def test_expired_and_revoked_invitations_are_refused_clearly(user_client, user):
    tenant = make_tenant()
    expired, expired_token = invite(tenant, email=user.email)
    Invitation.objects.filter(pk=expired["id"]).update(
        expires_at=timezone.now() - timedelta(minutes=1))
    response = user_client.post(reverse("invitation-accept"), {"token": expired_token},
                                format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "expired"
    assert response.json()["message"] == "This invitation has expired; ask for a new one."

    Invitation.objects.filter(pk=expired["id"]).delete()
    revoked, revoked_token = invite(tenant, email=user.email)
    revoke = tenant.clients["admin"].post(
        reverse("workspaces-invitation-revoke", args=[revoked["id"]]))
    assert revoke.status_code == 200 and revoke.json()["status"] == "revoked"
    response = user_client.post(reverse("invitation-accept"), {"token": revoked_token},
                                format="json")
    assert response.status_code == 400 and response.json()["code"] == "revoked"
    assert not Membership.objects.filter(workspace=tenant.workspace, user=user).exists()


def test_resend_refreshes_expiry_and_replaces_the_link(user_client, user, settings):
    tenant = make_tenant()
    body, old_token = invite(tenant, email=user.email)
    Invitation.objects.filter(pk=body["id"]).update(expires_at=timezone.now() + timedelta(hours=1))
    resent = tenant.clients["admin"].post(
        reverse("workspaces-invitation-resend", args=[body["id"]]))
    assert resent.status_code == 200
    assert Invitation.objects.get(pk=body["id"]).expires_at > timezone.now() + timedelta(
        days=settings.INVITATION_EXPIRY_DAYS - 1)
    new_token = re.search(r"token=(\S+)", mail.outbox[-1].body).group(1)
    assert user_client.post(reverse("invitation-accept"), {"token": old_token},
                            format="json").json()["code"] == "invalid_token"
    assert user_client.post(reverse("invitation-accept"), {"token": new_token},
                            format="json").status_code == 201


def test_only_the_invited_address_can_accept(user_client):
    tenant = make_tenant()
    _, token = invite(tenant, email="someone.else@example.com")
    response = user_client.post(reverse("invitation-accept"), {"token": token}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "wrong_account"


def test_decline_and_no_owner_invitations():
    tenant = make_tenant()
    _, token = invite(tenant, email="maybe@example.com")
    declined = tenant.clients["viewer"].post(reverse("invitation-decline"), {"token": token},
                                             format="json")
    assert declined.status_code == 200 and declined.json() == {"status": "declined"}
    owner = tenant.clients["admin"].post(reverse("workspaces-invitation-list"), {
        "workspace": tenant.workspace.pk, "email": "boss@example.com", "role": "owner"},
        format="json")
    assert owner.status_code == 400 and "role" in owner.json()["errors"]
