"""Creating, changing and deleting user accounts: who may touch whom.

One rule for every door (the admin's user pages, ``/api/v1/users/``, commands):

* only a superuser changes or deletes a superuser;
* only a superuser grants or removes staff or superuser status;
* a new account without a password cannot sign in with one until it is set.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction

from accounts.models import User

SUPERUSER_ONLY = "Only superusers may change or delete a superuser."
PRIVILEGE_ONLY = "Only superusers may grant or remove staff or superuser status."


def _is_superuser(by) -> bool:
    return bool(getattr(by, "is_superuser", False))


def user_may_manage(*, by, user: User) -> bool:
    """Whether ``by`` may change or delete ``user`` (as stored)."""
    return _is_superuser(by) or not user.is_superuser


def user_create(*, email: str, password: str | None = None, by=None, **fields) -> User:
    return user_save(User(email=email, **fields), by=by, password=password)


def user_update(*, user: User, by, password: str | None = None, **fields) -> User:
    for name, value in fields.items():
        setattr(user, name, value)
    return user_save(user, by=by, password=password)


@transaction.atomic
def user_save(user: User, *, by, password: str | None = None) -> User:
    """Save a new or changed account under the rules above.

    The admin passes the instance its form built (password already hashed);
    the API passes the raw ``password``. The stored row decides what changes.
    """
    stored = (User.objects.select_for_update().filter(pk=user.pk)
              .values("is_staff", "is_superuser").first() if user.pk else None)
    before = stored or {"is_staff": False, "is_superuser": False}
    if before["is_superuser"] and not _is_superuser(by):
        raise PermissionDenied(SUPERUSER_ONLY)
    if (user.is_staff, user.is_superuser) != (before["is_staff"], before["is_superuser"]) \
            and not _is_superuser(by):
        raise PermissionDenied(PRIVILEGE_ONLY)
    if password:
        user.set_password(password)
    elif stored is None and not user.password:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    return user


@transaction.atomic
def user_delete(*, user: User, by) -> None:
    if not user_may_manage(by=by, user=user):
        raise PermissionDenied(SUPERUSER_ONLY)
    user.delete()
