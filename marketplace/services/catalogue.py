"""Publishing and yanking component versions.

* **Semantic versions** (the ``semver`` library): a version must parse
  (``MAJOR.MINOR.PATCH[-pre][+build]``) and be greater than every version published
  before it, yanked ones included (a yanked number is never reused).  Its ``sequence``
  is therefore its semver rank, and lists order by it.
* **Payload**: for workflow components, the checks of ``payloads.workflow_payload_check``
  (those of ``workflow_import``, plus no secrets and no sub-workflow calls).
* **Yank**: a yanked version is no longer installed or upgraded to; installations of it
  keep their workflow.

Staff only (``marketplace.add_componentversion`` / ``change_componentversion``);
``by=None`` is the system (fixtures, commands).
"""

from __future__ import annotations

import semver
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core.api.errors import ApiError
from workflows.snapshot import checksum

from ..models import ComponentVersion, MarketplaceComponent
from .payloads import workflow_payload_check


def parse(version: str) -> semver.Version:
    """The parsed version, or a 400 naming the field."""
    if not isinstance(version, str) or not semver.Version.is_valid(version.strip()):
        raise ValidationError({"version": [
            f"{version!r} is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.4.0 or "
            "2.0.0-beta.1; see semver.org)."]})
    return semver.Version.parse(version.strip())


def in_semver_order(versions) -> list[ComponentVersion]:
    """``versions`` sorted oldest to newest by semantic versioning (not by text)."""
    return sorted(versions, key=lambda v: semver.Version.parse(v.version))


def _require_staff(by, perm: str) -> None:
    if by is None:
        return
    if not (getattr(by, "is_staff", False) and by.has_perm(f"marketplace.{perm}")):
        raise ApiError(403, "permission_denied", "Only marketplace staff may do this.")


@transaction.atomic
def version_publish(*, component: MarketplaceComponent, version: str, payload,
                    changelog: str = "", by=None) -> ComponentVersion:
    """A new version of ``component``, greater than all before it; its payload checked."""
    _require_staff(by, "add_componentversion")
    component = MarketplaceComponent.objects.select_for_update().get(pk=component.pk)
    wanted = parse(version)
    published = list(ComponentVersion.objects.filter(component=component)
                     .values_list("version", flat=True))
    if published:
        latest = max(semver.Version.parse(v) for v in published)
        if wanted <= latest:
            raise ValidationError({"version": [
                f"{wanted} is not greater than {latest}, the latest version of "
                f"{component.name}: publish a greater one."]})
    if component.kind == MarketplaceComponent.Kind.WORKFLOW:
        workflow_payload_check(payload)
    sequence = (ComponentVersion.objects.filter(component=component)
                .aggregate(top=Max("sequence"))["top"] or 0) + 1
    row = ComponentVersion(component=component, version=str(wanted), sequence=sequence,
                           changelog=changelog or "", payload=payload,
                           checksum=checksum(payload), published_at=timezone.now(),
                           published_by=by if getattr(by, "pk", None) else None)
    row.full_clean()
    row.save()
    return row


@transaction.atomic
def version_yank(version: ComponentVersion, *, reason: str, by=None) -> ComponentVersion:
    """Withdraw ``version``: no new installs or upgrades to it (idempotent)."""
    _require_staff(by, "change_componentversion")
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Say why the version is withdrawn."]})
    row = ComponentVersion.objects.select_for_update().get(pk=version.pk)
    if not row.yanked:
        row.yanked, row.yanked_reason = True, reason.strip()[:300]
        row.save(update_fields=["yanked", "yanked_reason"])
    version.yanked, version.yanked_reason = row.yanked, row.yanked_reason
    return row


def latest_installable(component: MarketplaceComponent) -> ComponentVersion | None:
    """The newest version that is not yanked."""
    return (ComponentVersion.objects.filter(component=component, yanked=False)
            .order_by("-sequence").first())
