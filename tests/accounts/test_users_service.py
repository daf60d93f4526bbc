"""One set of account rules (``accounts.services.users``) behind the admin and the API.

Only superusers change or delete a superuser, only superusers grant staff or
superuser status, and a new account without a password cannot sign in with one.
"""

from unittest import mock

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import users
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PERMS = ["view_user", "add_user", "change_user", "delete_user"]


@pytest.fixture
def staff(db):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=PERMS))
    return user


@pytest.fixture
def root(db):
    return UserFactory(is_staff=True, is_superuser=True)


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_only_superusers_change_or_delete_a_superuser(staff, root):
    with pytest.raises(PermissionDenied, match="Only superusers"):
        users.user_update(user=root, by=staff, first_name="Mallory")
    with pytest.raises(PermissionDenied, match="Only superusers"):
        users.user_delete(user=root, by=staff)
    users.user_update(user=root, by=UserFactory(is_superuser=True), first_name="Ada")
    assert User.objects.get(pk=root.pk).first_name == "Ada"


def test_only_superusers_grant_or_remove_staff_status(staff):
    plain = UserFactory()
    with pytest.raises(PermissionDenied, match="grant or remove"):
        users.user_update(user=plain, by=staff, is_staff=True)
    with pytest.raises(PermissionDenied, match="grant or remove"):
        users.user_create(email="boss@example.com", by=staff, is_superuser=True,
                          is_staff=True)
    assert not User.objects.get(pk=plain.pk).is_staff
    assert not User.objects.filter(email="boss@example.com").exists()


def test_a_new_account_without_password_cannot_sign_in_with_one(staff):
    made = users.user_create(email="New.Person@Example.COM", by=staff)
    assert made.email == "new.person@example.com" and not made.has_usable_password()
    with_password = users.user_create(email="b@example.com", password="a-Long-pass-phrase-9",
                                      by=staff)
    assert with_password.check_password("a-Long-pass-phrase-9")


def test_the_api_creates_and_guards_users_through_the_service(staff, root):
    api = api_as(staff)
    with mock.patch.object(users, "user_create", wraps=users.user_create) as spy:
        created = api.post(reverse("accounts-user-list"),
                           {"email": "Someone@Example.com", "first_name": "Some"},
                           format="json")
    assert created.status_code == 201, created.content
    assert spy.call_count == 1 and spy.call_args.kwargs["by"] == staff
    assert not User.objects.get(email="someone@example.com").has_usable_password()

    refused = api.patch(reverse("accounts-user-detail", args=[root.pk]),
                        {"first_name": "Mallory"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["message"] == users.SUPERUSER_ONLY
    deleted = api.delete(reverse("accounts-user-detail", args=[root.pk]))
    assert deleted.status_code == 403 and User.objects.filter(pk=root.pk).exists()


def test_admin_user_edits_hit_the_same_guard(client, staff, root):
    client.force_login(staff)
    plain = UserFactory()
    with mock.patch.object(users, "user_save", wraps=users.user_save) as spy:
        response = client.post(reverse("admin:accounts_user_change", args=[plain.pk]), {
            "email": plain.email, "first_name": "Renamed", "status": "active",
            "timezone": "UTC", "language": "en", "preferences": "{}", "metadata": "{}",
            "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00", "is_active": "on",
            "receive_email": "on"})
    assert response.status_code == 302
    assert spy.call_count == 1 and spy.call_args.kwargs["by"] == staff
    assert User.objects.get(pk=plain.pk).first_name == "Renamed"

    with mock.patch.object(users, "user_may_manage", wraps=users.user_may_manage) as guard:
        page = client.get(reverse("admin:accounts_user_delete", args=[root.pk]))
    assert page.status_code == 403 and guard.called
    assert client.post(reverse("admin:accounts_user_delete", args=[root.pk]),
                       {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=root.pk).exists()


def test_admin_added_users_go_through_the_service(client, staff):
    client.force_login(staff)
    with mock.patch.object(users, "user_save", wraps=users.user_save) as spy:
        response = client.post(reverse("admin:accounts_user_add"), {
            "email": "Added@Example.com", "usable_password": "false"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert spy.call_count == 1
    added = User.objects.get(email="added@example.com")
    assert not added.has_usable_password() and not added.is_staff
