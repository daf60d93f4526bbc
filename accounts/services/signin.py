"""Sign-in with lockout: the one rule that guards the admin, the API and the 2FA step.

After ``LOGIN_MAX_FAILURES`` consecutive failures the account is locked until
``locked_until``.  Each further lockout doubles the period, capped at
``LOGIN_LOCKOUT_MAX_SECONDS``: an attacker who knows an email can keep its
owner out for at most the cap at a time, and per-IP throttles slow them down.
While locked even the right password is refused, so guessing gains nothing.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import LoginAttempt, User
from core.net import client_ip

Reason = LoginAttempt.Reason
Channel = LoginAttempt.Channel


@dataclass
class SignInError(Exception):
    code: str
    message: str
    locked_until: datetime | None = None

    def __str__(self) -> str:
        return self.message


GENERIC_FAILURE = "The email or password is incorrect."


def record_attempt(*, request, email: str, user: User | None, channel: str, success: bool,
                   reason: str) -> LoginAttempt:
    meta = getattr(request, "META", {}) if request is not None else {}
    return LoginAttempt.objects.create(
        email=(email or "")[:254], user=user, channel=channel, success=success, reason=reason,
        ip_address=client_ip(request) if request is not None else None,
        user_agent=meta.get("HTTP_USER_AGENT", "")[:300],
    )


def lockout_period(failures: int) -> timedelta:
    """How long to lock after ``failures`` consecutive failures (0 if not yet)."""
    threshold = settings.LOGIN_MAX_FAILURES
    if failures < threshold:
        return timedelta(0)
    lockouts_so_far = (failures - threshold) // threshold
    seconds = settings.LOGIN_LOCKOUT_SECONDS * (2 ** min(lockouts_so_far, 30))
    return timedelta(seconds=min(seconds, settings.LOGIN_LOCKOUT_MAX_SECONDS))


def locked_error(user: User) -> SignInError:
    until = timezone.localtime(user.locked_until)
    return SignInError(
        code="account_locked",
        message=(f"Too many failed sign-ins: this account is locked until "
                 f"{until:%Y-%m-%d %H:%M:%S %Z}."),
        locked_until=user.locked_until,
    )


def register_failure(user: User) -> User:
    """Count a failure; lock when it reaches a multiple of the threshold."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(failed_login_attempts=F("failed_login_attempts") + 1)
        user.refresh_from_db(fields=["failed_login_attempts", "locked_until"])
        failures = user.failed_login_attempts
        if failures >= settings.LOGIN_MAX_FAILURES and failures % settings.LOGIN_MAX_FAILURES == 0:
            user.locked_until = timezone.now() + lockout_period(failures)
            User.objects.filter(pk=user.pk).update(locked_until=user.locked_until)
    return user


def register_success(user: User) -> None:
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(
        failed_login_attempts=0, locked_until=None, login_count=F("login_count") + 1,
        last_login=now,
    )
    user.refresh_from_db(fields=["failed_login_attempts", "locked_until", "login_count",
                                 "last_login"])


def _phantom_key(email: str) -> str:
    return "signin-phantom:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _phantom_failure(email: str) -> datetime | None:
    """Mirror the lockout for unknown emails, so "locked" reveals nothing.

    Without it, only real accounts would ever answer "locked until …".  Kept in
    the cache (no rows for addresses that have no account).
    """
    key = _phantom_key(email)
    state = cache.get(key) or {"failures": 0, "locked_until": None}
    state["failures"] += 1
    failures = state["failures"]
    threshold = settings.LOGIN_MAX_FAILURES
    if failures >= threshold and failures % threshold == 0:
        state["locked_until"] = timezone.now() + lockout_period(failures)
    cache.set(key, state, timeout=settings.LOGIN_LOCKOUT_MAX_SECONDS * 4)
    return state["locked_until"]


def _phantom_locked_until(email: str) -> datetime | None:
    state = cache.get(_phantom_key(email))
    until = state and state.get("locked_until")
    return until if until and until > timezone.now() else None


def _phantom_error(until: datetime) -> SignInError:
    return locked_error(User(locked_until=until))


# Where a user returned by the sign-in step came from, for ``django.contrib.auth.login``.
BACKEND_PATH = "accounts.backends.LockoutAwareBackend"
_BLOCKED_STATUSES = frozenset({User.Status.SUSPENDED, User.Status.DEACTIVATED})


def can_sign_in(user: User) -> bool:
    """Whether an account with the right password may sign in (lockout aside)."""
    return user.is_active and user.status not in _BLOCKED_STATUSES


def password_matches(user: User | None, password: str) -> bool:
    """Check ``password`` with exactly one password hash, whoever asks.

    An unknown email hashes the attempt with the default hasher, the one every
    stored password uses, so "no such account" costs what a wrong password does
    (an unusable stored password gets the same treatment inside Django).
    """
    if user is None:
        make_password(password)
        return False
    return user.check_password(password)


def check_password_step(*, request, email: str, password: str, channel: str) -> User:
    """Verify email and password under the lockout rule; raise ``SignInError``.

    Unknown emails and wrong passwords get the same answer, so a failure never
    reveals whether an account exists; and every path (known or unknown, active,
    inactive or locked, right or wrong password) hashes the password exactly once
    before deciding, so neither does the time the answer takes.
    """
    email = (email or "").strip()
    user = User.objects.filter(email__iexact=email).first()
    matches = password_matches(user, password)
    phantom_until = _phantom_locked_until(email) if user is None else None
    if phantom_until is not None or (user is not None and user.is_locked):
        record_attempt(request=request, email=email, user=user, channel=channel,
                       success=False, reason=Reason.LOCKED)
        raise _phantom_error(phantom_until) if user is None else locked_error(user)
    if matches and can_sign_in(user):
        user.backend = BACKEND_PATH
        return user
    if matches:
        reason = Reason.INACTIVE
    else:
        reason = Reason.BAD_CREDENTIALS
        if user is not None:
            register_failure(user)
        else:
            phantom_until = _phantom_failure(email)
    record_attempt(request=request, email=email, user=user, channel=channel, success=False,
                   reason=reason)
    if user is not None and user.is_locked:
        raise locked_error(user)
    if phantom_until is not None:
        raise _phantom_error(phantom_until)
    raise SignInError(code="invalid_credentials", message=GENERIC_FAILURE)


def check_otp_step(*, request, user: User, code: str, channel: str = Channel.OTP):
    """Verify a one-time code (TOTP or backup) under the same lockout rule."""
    from .otp import verify_code

    if user.is_locked:
        record_attempt(request=request, email=user.email, user=user, channel=channel,
                       success=False, reason=Reason.LOCKED)
        raise locked_error(user)
    device = verify_code(user, code)
    if device is None:
        register_failure(user)
        record_attempt(request=request, email=user.email, user=user, channel=channel,
                       success=False, reason=Reason.BAD_OTP)
        if user.is_locked:
            raise locked_error(user)
        raise SignInError(code="invalid_otp", message="The two-factor code is incorrect.")
    return device


def complete_sign_in(*, request, user: User, channel: str) -> None:
    register_success(user)
    record_attempt(request=request, email=user.email, user=user, channel=channel, success=True,
                   reason=Reason.OK)


def user_unlock(*, user: User) -> None:
    """Staff lift a lock; recorded in the audit trail (counters otherwise are not)."""
    from core.audit import record, snapshot

    before = snapshot(user)
    User.objects.filter(pk=user.pk).update(failed_login_attempts=0, locked_until=None)
    user.refresh_from_db(fields=["failed_login_attempts", "locked_until"])
    record(action="update", instance=user, before=before, after=snapshot(user))


def login_attempts_prune(*, retention_days: int | None = None) -> int:
    days = settings.LOGIN_ATTEMPT_RETENTION_DAYS if retention_days is None else retention_days
    if days < 0:
        raise ValueError("retention_days must be zero or positive")
    cutoff = timezone.now() - timedelta(days=days)
    return LoginAttempt.objects.filter(created_at__lt=cutoff).delete()[0]
