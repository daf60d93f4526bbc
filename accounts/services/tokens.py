"""API tokens (django-rest-knox, hashed at rest): issue, revoke one, revoke all."""

from django.utils import timezone

from accounts.models import ApiToken, User
from core.net import client_ip


def token_issue(*, user: User, request=None, otp_verified: bool = False) -> tuple[ApiToken, str]:
    """A new token for ``user``; the raw value is returned once and never stored.

    ``otp_verified`` says the sign-in behind it passed a second factor; the
    two-factor rule reads it on every request made with the token.
    """
    meta = getattr(request, "META", {}) if request is not None else {}
    return ApiToken.objects.create(
        user=user, otp_verified=otp_verified,
        ip_address=client_ip(request) if request is not None else None,
        user_agent=meta.get("HTTP_USER_AGENT", "")[:300],
    )


def token_mark_verified(*, token: ApiToken) -> None:
    """Upgrade a token whose holder just proved a second factor (confirmed a device with it)."""
    ApiToken.objects.filter(pk=token.pk).update(otp_verified=True)
    token.otp_verified = True


def token_revoke(*, token: ApiToken) -> None:
    token.delete()


def tokens_revoke_all(*, user: User, keep: ApiToken | None = None) -> int:
    tokens = ApiToken.objects.filter(user=user)
    if keep is not None:
        tokens = tokens.exclude(pk=keep.pk)
    return tokens.delete()[0]


def tokens_prune_expired() -> int:
    return ApiToken.objects.filter(expiry__lt=timezone.now()).delete()[0]
