"""Creating workspaces, changing roles, transferring ownership, the activity feed."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from billing import entitlements
from core import tenancy
from workspaces.models import Activity, Membership, Workspace


def activity_record(*, workspace: Workspace, actor, verb: str, summary: str, target=None,
                    data: dict | None = None) -> Activity:
    return Activity.objects.create(
        workspace=workspace, actor=actor if getattr(actor, "pk", None) else None, verb=verb,
        summary=summary[:300], data=data or {},
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
    )


def unique_slug(name: str) -> str:
    base = slugify(name)[:70] or "workspace"
    slug, n = base, 1
    while Workspace.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def workspace_create(*, owner, name: str, slug: str = "", **fields) -> Workspace:
    workspace = Workspace(name=name, slug=slug or unique_slug(name), **fields)
    workspace.full_clean()
    workspace.save()
    workspace_set_up(workspace=workspace, owner=owner)
    return workspace


def workspace_set_up(*, workspace: Workspace, owner) -> None:
    """A new workspace's owner membership and first activity (API and admin alike)."""
    Membership.objects.create(workspace=workspace, user=owner, role=tenancy.OWNER)
    activity_record(workspace=workspace, actor=owner, verb="workspace.created",
                    summary=f"{owner} created the workspace", target=workspace)


@transaction.atomic
def workspace_transfer(*, workspace: Workspace, new_owner, by) -> Membership:
    """Make ``new_owner`` (already a member) the owner; the old owner becomes an admin."""
    membership = Membership.objects.select_for_update().filter(
        workspace=workspace, user=new_owner).first()
    if membership is None:
        raise ValidationError({"user": ["The new owner must already be a member."]})
    if membership.role == tenancy.OWNER:
        return membership
    Membership.objects.filter(workspace=workspace, role=tenancy.OWNER).update(role=tenancy.ADMIN)
    membership.role = tenancy.OWNER
    membership.save(update_fields=["role", "updated_at"])
    activity_record(workspace=workspace, actor=by, verb="workspace.transferred",
                    summary=f"Ownership transferred to {new_owner}", target=workspace)
    return membership


def membership_check_change(*, membership: Membership, new_role: str | None) -> None:
    """Roles change freely except to or from owner, which only a transfer does."""
    role_change_check(old_role=membership.role if membership.pk else None, new_role=new_role)


def role_change_check(*, old_role: str | None, new_role: str | None) -> None:
    """``old_role`` ``None``: a new membership, which may be anything but owner."""
    if new_role is None or new_role == old_role:
        return
    if old_role == tenancy.OWNER:
        raise ValidationError({"role": ["The owner's role changes only by transferring "
                                        "ownership to another member."]})
    if new_role == tenancy.OWNER:
        raise ValidationError({"role": ["Use the workspace's transfer action to make "
                                        "someone the owner."]})


def membership_check_removal(*, membership: Membership) -> None:
    if membership.role == tenancy.OWNER:
        raise ValidationError("The owner cannot leave or be removed; transfer ownership first.")


@transaction.atomic
def membership_add(*, workspace: Workspace, user, role: str = tenancy.MEMBER,
                   custom_role=None, by=None) -> Membership:
    """Add someone directly (staff in the admin); everyone else joins by invitation."""
    return membership_save(Membership(workspace=workspace, user=user, role=role,
                                      custom_role=custom_role), by=by)


@transaction.atomic
def membership_update(*, membership: Membership, by=None, **fields) -> Membership:
    """Change the role or custom role (never to or from owner: see ``workspace_transfer``)."""
    for name, value in fields.items():
        setattr(membership, name, value)
    return membership_save(membership, by=by)


@transaction.atomic
def membership_save(membership: Membership, *, by=None) -> Membership:
    """Save a new or changed membership under the owner rule, with a feed entry.

    The admin passes the instance its form built; the API calls ``membership_update``.
    """
    before = None
    if membership.pk is not None:
        # The instance may already carry the new role (an admin form set it): compare
        # with the stored row, which is what the rule is about.
        before = (Membership.objects.select_for_update().filter(pk=membership.pk)
                  .values("role", "custom_role_id").first())
    role_change_check(old_role=before["role"] if before else None, new_role=membership.role)
    if before is None:
        entitlements.require(membership.workspace_id, "seats")  # the plan's member count
    membership.full_clean()
    membership.save()
    if before is None:
        activity_record(workspace=membership.workspace, actor=by, verb="member.added",
                        summary=f"{membership.user} added as {membership.role}",
                        target=membership, data={"role": membership.role})
    elif (before["role"], before["custom_role_id"]) != (membership.role,
                                                       membership.custom_role_id):
        activity_record(workspace=membership.workspace, actor=by, verb="member.role_changed",
                        summary=f"{membership.user} is now {membership.role}",
                        target=membership, data={"from": before["role"], "to": membership.role,
                                                 "custom_role": membership.custom_role_id})
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, by=None) -> None:
    """Remove a member (never the owner: transfer ownership first)."""
    membership_check_removal(membership=membership)
    activity_record(workspace=membership.workspace, actor=by, verb="member.removed",
                    summary=f"{membership.user} removed from the workspace", target=membership,
                    data={"user": membership.user_id, "role": membership.role})
    membership.delete()
