"""Feature flags: the one question "is feature X on here?", asked through ``is_active``.

The answer, first match wins:

1. a ``FlagOverride`` for the user;
2. a ``FlagOverride`` for the workspace;
3. a registered source (``register_source``): plan-driven features, for one; billing
   registers its source at start-up, the kernel imports nothing above it;
4. the flag itself: off unless ``enabled``; then on for ``rollout_percent`` % of
   workspaces, chosen by a stable hash of flag key and workspace id (the same workspace
   always gets the same answer, and raising the percentage only adds workspaces).
   Without a workspace the user's id is hashed the same way; with neither only a
   100 % rollout is on.

An unknown key is off.  Flags and overrides are served from the shared cache under a
version number that every change bumps, so all processes see a change at their next
check.  Changes through the admin and API are in the audit trail (model signals).

Why not django-waffle: its flags scope to users, groups and a random percentage per
request or cookie, not to a workspace; scoping it per workspace means keeping our own
override tables next to its own, so this module is smaller than the adapter would be.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import FeatureFlag, FlagOverride

VERSION_KEY = "core:flags:version"

#: ``fn(key, *, workspace, user) -> bool | None``: None means "no opinion".
Source = Callable[..., bool | None]
_sources: list[Source] = []


def register_source(fn: Source) -> Source:
    """Add a source of answers consulted after overrides (idempotent; usable as a
    decorator).  A source answers ``True``/``False`` or ``None`` for no opinion."""
    if fn not in _sources:
        _sources.append(fn)
    return fn


def unregister_source(fn: Source) -> None:
    if fn in _sources:
        _sources.remove(fn)


def bucket(key: str, subject: str) -> int:
    """0..99, stable across processes and releases (not Python's salted ``hash``)."""
    digest = hashlib.sha256(f"{key}:{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


# --- cached reads ------------------------------------------------------------------------


def _version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, 1, None)
        version = cache.get(VERSION_KEY) or 1
    return version


def _cached(name: str, load: Callable[[], dict], version: int) -> dict:
    key = f"core:flags:{version}:{name}"
    found = cache.get(key)
    if found is None:
        found = load()
        cache.set(key, found, settings.LIVE_SETTINGS_CACHE_SECONDS)
    return found


def _definitions(version: int) -> dict[str, tuple[bool, int]]:
    return _cached("definitions", lambda: {
        key: (enabled, percent) for key, enabled, percent in
        FeatureFlag.objects.values_list("key", "enabled", "rollout_percent")}, version)


def _overrides(field: str, target_id: int, version: int) -> dict[str, bool]:
    return _cached(f"{field}:{target_id}", lambda: dict(
        FlagOverride.objects.filter(**{f"{field}_id": target_id})
        .values_list("flag__key", "enabled")), version)


def invalidate() -> None:
    """Every cached flag and override is stale: move all processes to a new version."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # not set yet (or evicted): any fresh version number will do
        cache.set(VERSION_KEY, (cache.get(VERSION_KEY) or 1) + 1, None)


@receiver(post_save, sender=FeatureFlag, dispatch_uid="core.flags.flag_saved")
@receiver(post_delete, sender=FeatureFlag, dispatch_uid="core.flags.flag_deleted")
@receiver(post_save, sender=FlagOverride, dispatch_uid="core.flags.override_saved")
@receiver(post_delete, sender=FlagOverride, dispatch_uid="core.flags.override_deleted")
def _on_change(**kwargs) -> None:
    from django.db import transaction

    invalidate()
    transaction.on_commit(invalidate)  # a read between save and commit cached the old rows


# --- the question --------------------------------------------------------------------------


def _id(obj) -> int | None:
    return getattr(obj, "pk", obj)


def _user_id(user) -> int | None:
    if user is None or not getattr(user, "is_authenticated", True):
        return None
    return _id(user)


def is_active(key: str, *, workspace=None, user=None) -> bool:
    """Whether flag ``key`` is on for ``workspace`` and/or ``user`` (objects or ids)."""
    version = _version()
    return _answer(key, version, _id(workspace), _user_id(user), workspace, user)


def _answer(key, version, workspace_id, user_id, workspace, user) -> bool:
    definition = _definitions(version).get(key)
    if definition is None:
        return False
    if user_id is not None:
        found = _overrides("user", user_id, version).get(key)
        if found is not None:
            return found
    if workspace_id is not None:
        found = _overrides("workspace", workspace_id, version).get(key)
        if found is not None:
            return found
    for source in list(_sources):
        found = source(key, workspace=workspace, user=user)
        if found is not None:
            return bool(found)
    enabled, percent = definition
    if not enabled:
        return False
    if percent >= 100:
        return True
    if workspace_id is not None:
        return bucket(key, f"w{workspace_id}") < percent
    if user_id is not None:
        return bucket(key, f"u{user_id}") < percent
    return False


def active_flags(*, workspace=None, user=None, keys: Iterable[str] | None = None) -> list[str]:
    """The keys of every flag on for ``workspace``/``user`` (sorted)."""
    version = _version()
    names = _definitions(version) if keys is None else keys
    workspace_id, user_id = _id(workspace), _user_id(user)
    return sorted(k for k in names if _answer(k, version, workspace_id, user_id, workspace, user))
