"""Email verification and password reset.

Verification links are signed and expire (``EMAIL_VERIFICATION_MAX_AGE``);
resets use Django's token generator, which a password change or a new sign-in
invalidates.  Requests for unknown emails get the same answer as for known ones.
"""

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from accounts.models import LoginAttempt, User
from core import live_settings

from .signin import record_attempt
from .tokens import tokens_revoke_all

_VERIFY_SALT = "accounts.email-verification"


def _check_password(password: str, user: User, field: str) -> None:
    """Django's password validators, reported against the request field that carried it."""
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from exc


class FlowError(Exception):
    def __init__(self, code: str, message: str, field: str = "token"):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


REGISTRATION_ACCEPTED = "Check your inbox to confirm your address."


def user_register(*, email: str, password: str, first_name: str = "", last_name: str = "",
                  request=None) -> User | None:
    """Create a pending account and email a verification link, or tell the owner.

    An address that already has an account gets the very same answer (the caller
    shows ``REGISTRATION_ACCEPTED`` either way) and the same work (validation and
    one password hash); its owner is emailed instead, so the form never reveals
    who has an account.  Returns the new user, or ``None`` when the address was taken.
    """
    if not live_settings.get("signup_open"):
        raise FlowError("signup_closed", "Sign-up is closed; ask an administrator for an "
                                         "account.", field="non_field_errors")
    candidate = User(email=User.objects.normalize_email(email).lower(), first_name=first_name,
                     last_name=last_name, status=User.Status.PENDING,
                     language=live_settings.get("default_language"),
                     timezone=live_settings.get("default_time_zone"))
    _check_password(password, candidate, "password")
    candidate.set_password(password)
    # Uniqueness is the one check whose message would reveal the account: left to below.
    candidate.full_clean(exclude=["password"], validate_unique=False,
                         validate_constraints=False)
    existing = User.objects.filter(email__iexact=candidate.email).first()
    if existing is None:
        try:
            with transaction.atomic():
                candidate.save()
        except IntegrityError:
            # Registered by a concurrent request a moment ago: an existing account too.
            existing = User.objects.filter(email__iexact=candidate.email).first()
            if existing is None:
                raise
        else:
            email_verification_send(user=candidate)
            return candidate
    registration_attempt_notice_send(user=existing)
    return None


def registration_attempt_notice_send(*, user: User) -> None:
    """Tell an account's owner that someone tried to sign up with their address."""
    lines = [f"Someone (perhaps you) tried to create a Synapscale account with {user.email}, "
             f"which already has one. No new account was created.", ""]
    if user.status == User.Status.PENDING:
        lines += ["Your address is not confirmed yet; confirm it with this link first:", "",
                  _verification_link(user), ""]
    lines.append("You can sign in with your password as usual.")
    if user.is_active:
        link = _password_reset_link(*_password_reset_pair(user))
        lines.append(f"Forgot it? Reset it here:\n\n{link}\n\n"
                     f"The link expires in {settings.PASSWORD_RESET_TIMEOUT // 60} minutes.")
    lines += ["", "If it was not you, you can ignore this email: your account is unchanged."]
    send_mail(subject="Someone tried to register with your Synapscale address",
              message="\n".join(lines), from_email=None, recipient_list=[user.email])


def email_verification_token(user: User) -> str:
    return signing.TimestampSigner(salt=_VERIFY_SALT).sign_object(
        {"user": user.pk, "email": user.email})


def _verification_link(user: User, token: str | None = None) -> str:
    return f"{settings.FRONTEND_URL}/verify-email?token={token or email_verification_token(user)}"


def email_verification_send(*, user: User) -> None:
    token = email_verification_token(user)
    link = _verification_link(user, token)
    send_mail(
        subject="Confirm your Synapscale email address",
        message=(f"Confirm your email address by opening this link:\n\n{link}\n\n"
                 f"Or send this token to POST /api/v1/auth/verify-email/:\n{token}\n\n"
                 f"The link expires in {settings.EMAIL_VERIFICATION_MAX_AGE // 3600} hours."),
        from_email=None, recipient_list=[user.email],
    )


def email_verify(*, token: str) -> User:
    try:
        data = signing.TimestampSigner(salt=_VERIFY_SALT).unsign_object(
            token, max_age=settings.EMAIL_VERIFICATION_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise FlowError("token_expired", "This verification link has expired; "
                                         "ask for a new one.") from exc
    except (signing.BadSignature, TypeError, ValueError) as exc:
        raise FlowError("token_invalid", "This verification link is not valid.") from exc
    user = User.objects.filter(pk=data.get("user"), email=data.get("email")).first()
    if user is None:
        raise FlowError("token_invalid", "This verification link is not valid.")
    if user.status == User.Status.PENDING:
        user.status = User.Status.ACTIVE
        user.save(update_fields=["status"])
    return user


def email_verification_resend(*, email: str) -> None:
    user = User.objects.filter(email__iexact=email, status=User.Status.PENDING).first()
    if user is not None:
        email_verification_send(user=user)


def password_reset_request(*, email: str, request=None) -> None:
    user = User.objects.filter(email__iexact=(email or "").strip(), is_active=True).first()
    record_attempt(request=request, email=email, user=user,
                   channel=LoginAttempt.Channel.PASSWORD_RESET, success=user is not None,
                   reason=LoginAttempt.Reason.RESET_REQUESTED)
    if user is None:
        return
    uid, token = _password_reset_pair(user)
    send_mail(
        subject="Reset your Synapscale password",
        message=(f"Someone asked to reset the password of {user.email}. If it was you, open:\n\n"
                 f"{_password_reset_link(uid, token)}\n\n"
                 f"or send uid={uid} and token={token} to POST /api/v1/auth/reset-password/.\n"
                 f"The link expires in {settings.PASSWORD_RESET_TIMEOUT // 60} minutes. "
                 f"If it was not you, ignore this email."),
        from_email=None, recipient_list=[user.email],
    )


def _password_reset_pair(user: User) -> tuple[str, str]:
    return urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)


def _password_reset_link(uid: str, token: str) -> str:
    return f"{settings.FRONTEND_URL}/reset-password?uid={uid}&token={token}"


def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    try:
        user = User.objects.get(pk=force_str(urlsafe_base64_decode(uid)))
    except (User.DoesNotExist, ValueError, TypeError, OverflowError) as exc:
        raise FlowError("token_invalid", "This reset link is not valid.") from exc
    if not default_token_generator.check_token(user, token):
        raise FlowError("token_invalid", "This reset link is not valid or has expired.")
    _check_password(new_password, user, "new_password")
    with transaction.atomic():
        user.set_password(new_password)
        # A reset proves control of the mailbox, not of the second factor: 2FA stays on.
        user.save(update_fields=["password"])
        tokens_revoke_all(user=user)
    return user


def password_change(*, user: User, current_password: str, new_password: str,
                    keep_token=None) -> None:
    if not user.check_password(current_password):
        raise FlowError("invalid_password", "The current password is incorrect.",
                        field="current_password")
    _check_password(new_password, user, "new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        tokens_revoke_all(user=user, keep=keep_token)
