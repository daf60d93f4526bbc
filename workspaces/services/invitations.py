"""Invitations: emailed single-use tokens (stored hashed) that expire and can be revoked."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing import entitlements
from core import tenancy
from workspaces.models import Invitation, Membership, Workspace

from .workspaces import activity_record


class InvitationError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _expiry():
    return timezone.now() + timedelta(days=settings.INVITATION_EXPIRY_DAYS)


def _send(invitation: Invitation, token: str) -> None:
    link = f"{settings.FRONTEND_URL}/invitations/accept?token={token}"
    send_mail(
        subject=f"You are invited to {invitation.workspace} on Synapscale",
        message=(f"{invitation.invited_by or 'Someone'} invited you to join "
                 f"{invitation.workspace} as {invitation.get_role_display().lower()}.\n\n"
                 f"Accept: {link}\n\nOr send token={token} to "
                 f"POST /api/v1/invitations/accept/ once signed in.\n"
                 f"The invitation expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC."),
        from_email=None, recipient_list=[invitation.email],
    )


def invitation_create(*, workspace: Workspace, email: str, role: str, invited_by) -> Invitation:
    if role == tenancy.OWNER:
        raise ValidationError({"role": ["Invite as admin, then transfer ownership."]})
    email = email.strip().lower()
    if Membership.objects.filter(workspace=workspace, user__email__iexact=email).exists():
        raise ValidationError({"email": ["This person is already a member."]})
    entitlements.require(workspace.pk, "seats")  # a pending invitation holds a seat
    token = secrets.token_urlsafe(32)
    invitation = Invitation(workspace=workspace, email=email, role=role, invited_by=invited_by,
                            token_hash=_hash(token), expires_at=_expiry())
    invitation.full_clean(exclude=["token_hash"])
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError as exc:
        raise ValidationError({"email": ["This email already has a pending invitation."]}) \
            from exc
    _send(invitation, token)
    return invitation


def invitation_resend(*, invitation: Invitation) -> Invitation:
    """A new token and a fresh expiry; the old link stops working."""
    if invitation.status != Invitation.Status.PENDING:
        raise InvitationError("not_pending", f"This invitation is {invitation.status}.")
    token = secrets.token_urlsafe(32)
    invitation.token_hash, invitation.expires_at = _hash(token), _expiry()
    invitation.save(update_fields=["token_hash", "expires_at", "updated_at"])
    _send(invitation, token)
    return invitation


def invitation_revoke(*, invitation: Invitation) -> Invitation:
    if invitation.status != Invitation.Status.PENDING:
        raise InvitationError("not_pending", f"This invitation is {invitation.status}.")
    invitation.status = Invitation.Status.REVOKED
    invitation.save(update_fields=["status", "updated_at"])
    return invitation


def _pending(token: str) -> Invitation:
    invitation = Invitation.objects.select_related("workspace").filter(
        token_hash=_hash(token or "")).first()
    if invitation is None:
        raise InvitationError("invalid_token", "This invitation link is not valid.")
    if invitation.status == Invitation.Status.REVOKED:
        raise InvitationError("revoked", "This invitation has been revoked.")
    if invitation.status != Invitation.Status.PENDING:
        raise InvitationError("not_pending", f"This invitation was already {invitation.status}.")
    if invitation.expires_at <= timezone.now():
        raise InvitationError("expired", "This invitation has expired; ask for a new one.")
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user) -> Membership:
    invitation = _pending(token)
    if user.email.lower() != invitation.email.lower():
        raise InvitationError("wrong_account", "This invitation was sent to another email "
                                               "address; sign in with that account.")
    membership, created = Membership.objects.get_or_create(
        workspace=invitation.workspace, user=user, defaults={"role": invitation.role})
    invitation.status, invitation.accepted_by = Invitation.Status.ACCEPTED, user
    invitation.save(update_fields=["status", "accepted_by", "updated_at"])
    if created:
        activity_record(workspace=invitation.workspace, actor=user, verb="member.joined",
                        summary=f"{user} joined as {membership.role}", target=membership)
    return membership


def invitation_decline(*, token: str) -> Invitation:
    invitation = _pending(token)
    invitation.status = Invitation.Status.DECLINED
    invitation.save(update_fields=["status", "updated_at"])
    return invitation
