"""Registration reveals nothing: an existing address gets the answer a new one gets."""

import re

import pytest
from django.contrib.auth.hashers import get_hasher
from django.core import mail
from django.urls import reverse

from accounts.models import User
from tests.factories import UserFactory

from .helpers import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-Very-long-passphrase-42"


def register(client, email, password=NEW_PASSWORD, **extra):
    return client.post(reverse("auth-register"),
                       {"email": email, "password": password, **extra}, format="json")


def test_new_and_existing_addresses_get_the_same_answer(anon_client):
    UserFactory(email="taken@example.com")
    new = register(anon_client, "fresh@example.com", first_name="Fresh")
    taken = register(anon_client, "TAKEN@example.com", first_name="Fresh")
    assert new.status_code == taken.status_code == 202
    assert new.json() == taken.json() == {"detail": "Check your inbox to confirm your address."}
    assert new.headers.get("Content-Type") == taken.headers.get("Content-Type")


def test_an_existing_address_creates_no_row_and_keeps_the_password(anon_client):
    owner = UserFactory(email="taken@example.com")
    register(anon_client, "Taken@Example.com", first_name="Intruder")
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD) and owner.first_name != "Intruder"


def test_the_owner_is_told_and_can_reset_from_the_email(anon_client):
    owner = UserFactory(email="taken@example.com")
    register(anon_client, "taken@example.com")
    assert len(mail.outbox) == 1
    notice = mail.outbox[0]
    assert notice.to == ["taken@example.com"]
    assert "tried to create a Synapscale account" in notice.body
    assert "sign in" in notice.body
    uid, token = re.search(r"reset-password\?uid=(\S+)&token=(\S+)", notice.body).groups()
    reset = anon_client.post(reverse("auth-reset-password"), {
        "uid": uid, "token": token, "new_password": "brand-New-passphrase-9"}, format="json")
    assert reset.status_code == 200
    owner.refresh_from_db()
    assert owner.check_password("brand-New-passphrase-9")


def test_a_pending_owner_gets_a_confirmation_link_in_the_notice(anon_client):
    owner = UserFactory(email="pending@example.com", status=User.Status.PENDING)
    register(anon_client, "pending@example.com")
    assert len(mail.outbox) == 1
    token = re.search(r"verify-email\?token=(\S+)", mail.outbox[0].body).group(1)
    verified = anon_client.post(reverse("auth-verify-email"), {"token": token}, format="json")
    assert verified.status_code == 200
    owner.refresh_from_db()
    assert owner.status == User.Status.ACTIVE


def test_a_new_address_gets_the_verification_email(anon_client):
    register(anon_client, "fresh@example.com")
    user = User.objects.get(email="fresh@example.com")
    assert user.status == User.Status.PENDING and user.check_password(NEW_PASSWORD)
    assert [m.to for m in mail.outbox] == [["fresh@example.com"]]
    assert "verify-email?token=" in mail.outbox[0].body


def test_invalid_input_is_refused_alike_for_new_and_existing(anon_client):
    UserFactory(email="taken@example.com")
    new = register(anon_client, "fresh@example.com", password="password")
    taken = register(anon_client, "taken@example.com", password="password")
    assert new.status_code == taken.status_code == 400
    assert new.json()["errors"] == taken.json()["errors"]
    assert "password" in new.json()["errors"]
    assert mail.outbox == []


def test_new_and_existing_addresses_cost_the_same_hashing(anon_client, monkeypatch):
    hasher = type(get_hasher())
    calls = []
    original = hasher.encode
    monkeypatch.setattr(hasher, "encode",
                        lambda self, *args, **kw: calls.append(1) or original(self, *args, **kw))
    UserFactory(email="taken@example.com")
    calls.clear()
    register(anon_client, "fresh@example.com")
    new_cost = len(calls)
    calls.clear()
    register(anon_client, "taken@example.com")
    assert new_cost == len(calls) == 1
