"""API authentication for people: tokens (django-rest-knox) and Django sessions.

Both hold every request to the second-factor rule (``accounts.services.two_factor``):
a token counts as verified when it was issued against a code, a session when
django-otp's ``OTPMiddleware`` finds a verified device in it.  A sign-in the rule
refuses gets 403 ``two_factor_required`` / ``two_factor_enrolment_required``.
"""

from datetime import timedelta

from django.utils import timezone
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework.exceptions import PermissionDenied

from accounts.models import ApiToken
from accounts.services.two_factor import SecondFactorMissing, check_request_allowed
from core.api.authentication import SessionAuthentication as CoreSessionAuthentication
from core.net import client_ip

# Writing on every request would turn each read into a write; a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _enforce_second_factor(request, user, *, verified: bool) -> None:
    match = getattr(request, "resolver_match", None)
    try:
        check_request_allowed(user, verified=verified, method=request.method,
                              url_name=match.url_name if match is not None else None)
    except SecondFactorMissing as exc:
        # Not core's ApiError: DRF's views module imports this one while it loads.
        raise PermissionDenied(exc.message, code=exc.code) from exc


class TokenAuthentication(KnoxTokenAuthentication):
    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            user, token = result
            _enforce_second_factor(request, user, verified=token.otp_verified)
            now = timezone.now()
            if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
                ApiToken.objects.filter(pk=token.pk).update(
                    last_used_at=now, ip_address=client_ip(request))
        return result


class SessionAuthentication(CoreSessionAuthentication):
    """A session (admin sign-in, ``force_login``) counts once OTP-verified, if the rule asks."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            user = result[0]
            _enforce_second_factor(request, user, verified=session_verified(user))
        return result


def session_verified(user) -> bool:
    # Without OTPMiddleware there is no is_verified(): never verified, never open.
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())
