"""The second-factor rule every channel obeys: admin, API token and API session.

A sign-in needs a verified second factor before it gets any power when

* the account has a confirmed device (TOTP or backup codes), whoever it is, or
* the account is staff or superuser and ``settings.REQUIRE_STAFF_2FA`` is on.

"Verified" means: the admin session went through django-otp's login (a code at
the admin sign-in, or confirming a device on the enrolment page), or the API
token was issued against a code (``ApiToken.otp_verified``), or was upgraded by
confirming a device with it.  Staff in the second case who have no device yet
may reach only the enrolment endpoints, so they can get one; everyone else who
is not verified may only sign out.  The rule is evaluated on every request, so
turning ``REQUIRE_STAFF_2FA`` on, or making someone staff, takes effect at once
on tokens and sessions already issued.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings


class SecondFactor(StrEnum):
    SATISFIED = "satisfied"
    REQUIRED = "two_factor_required"
    ENROLMENT_REQUIRED = "two_factor_enrolment_required"


@dataclass
class SecondFactorMissing(Exception):
    code: str
    message: str

    def __str__(self) -> str:
        return self.message


# URL names (and methods) an unverified sign-in may still use.
ENROLMENT_ENDPOINTS = frozenset({
    ("auth-2fa-enrol", "POST"), ("auth-2fa-confirm", "POST"),
    ("auth-me", "GET"), ("auth-me", "HEAD"), ("auth-logout", "POST"),
})
UNVERIFIED_ENDPOINTS = frozenset({("auth-logout", "POST")})

_MESSAGES = {
    SecondFactor.REQUIRED: (
        "This account uses two-factor authentication and this sign-in was not verified "
        "with a code: sign in again with your code (POST /api/v1/auth/login/ with otp_code, "
        "or the admin sign-in)."),
    SecondFactor.ENROLMENT_REQUIRED: (
        "Staff accounts must set up two-factor authentication before anything else: "
        "POST /api/v1/auth/2fa/totp/, then confirm a code at /api/v1/auth/2fa/totp/confirm/."),
}


def has_device(user) -> bool:
    from django_otp import user_has_device

    return user_has_device(user, confirmed=True)


def _staff_rule_applies(user) -> bool:
    return bool(settings.REQUIRE_STAFF_2FA and (user.is_staff or user.is_superuser))


def requires_second_factor(user) -> bool:
    """Whether ``user`` gets no power anywhere without a verified second factor."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return False
    return _staff_rule_applies(user) or has_device(user)


def second_factor_state(user, *, verified: bool) -> SecondFactor:
    """Where a sign-in of ``user`` (``verified`` or not) stands under the rule."""
    if verified or not getattr(user, "is_authenticated", False) or user.pk is None:
        return SecondFactor.SATISFIED
    if has_device(user):
        return SecondFactor.REQUIRED
    if _staff_rule_applies(user):
        return SecondFactor.ENROLMENT_REQUIRED
    return SecondFactor.SATISFIED


def check_request_allowed(user, *, verified: bool, url_name: str | None, method: str) -> None:
    """Raise ``SecondFactorMissing`` unless this sign-in may make this request."""
    state = second_factor_state(user, verified=verified)
    if state is SecondFactor.SATISFIED:
        return
    allowed = ENROLMENT_ENDPOINTS if state is SecondFactor.ENROLMENT_REQUIRED \
        else UNVERIFIED_ENDPOINTS
    if (url_name, method.upper()) not in allowed:
        raise SecondFactorMissing(code=state.value, message=_MESSAGES[state])
