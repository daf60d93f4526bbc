"""/api/v1/auth/: sign-up, sign-in (with 2FA and lockout), tokens, passwords, 2FA management.

Thin: every rule is in ``accounts.services``; views translate its errors into
the API's error body.
"""

import math

from django.contrib.auth import logout as session_logout
from django.utils import timezone
from django_otp import login as otp_login
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import session_verified
from accounts.models import LoginAttempt
from accounts.queries import users_with_two_factor_state
from accounts.services import email_flows, otp, signin, tokens, two_factor
from core.api.errors import ApiError
from core.api.permissions import UserCredentialsRequired

from . import auth_serializers as s
from .throttles import AUTH_THROTTLES

ACCEPTED = "If the address belongs to an account, an email is on its way."


def _sign_in_error(exc: signin.SignInError) -> ApiError:
    if exc.code == "account_locked":
        wait = max(1, math.ceil((exc.locked_until - timezone.now()).total_seconds()))
        return ApiError(403, exc.code, exc.message, headers={"Retry-After": str(wait)})
    return ApiError(401, exc.code, exc.message)


def _flow_error(exc: email_flows.FlowError) -> ApiError:
    return ApiError(400, exc.code, exc.message, errors={exc.field: [exc.message]})


def _validated(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _profile(user):
    return s.ProfileSerializer(users_with_two_factor_state().get(pk=user.pk)).data


def _token_response(user, request, *, otp_verified: bool):
    token, raw = tokens.token_issue(user=user, request=request, otp_verified=otp_verified)
    state = two_factor.second_factor_state(user, verified=otp_verified)
    return {"token": raw, "expiry": token.expiry,
            "scope": "enrolment" if state is two_factor.SecondFactor.ENROLMENT_REQUIRED
            else "full",
            "user": _profile(user)}


class _PublicAuthView(APIView):
    permission_classes = [permissions.AllowAny]
    throttle_classes = AUTH_THROTTLES


class RegisterView(_PublicAuthView):
    @extend_schema(
        request=s.RegisterSerializer, responses={202: s.MessageSerializer},
        summary="Create an account (a verification email follows)",
        description="The answer is the same whether or not the address already has an "
                    "account, so it reveals nothing: a new address gets a confirmation link, "
                    "an existing one an email telling its owner to sign in or reset the "
                    "password. Invalid input (e.g. a weak password) is still a 400.")
    def post(self, request):
        data = _validated(s.RegisterSerializer, request)
        try:
            email_flows.user_register(request=request, **data)
        except email_flows.FlowError as exc:  # sign-up closed (a live setting)
            raise ApiError(403, exc.code, exc.message) from exc
        return Response({"detail": email_flows.REGISTRATION_ACCEPTED},
                        status=status.HTTP_202_ACCEPTED)


class VerifyEmailView(_PublicAuthView):
    @extend_schema(request=s.TokenOnlySerializer, responses={200: s.ProfileSerializer},
                   summary="Confirm an email address with the emailed token")
    def post(self, request):
        data = _validated(s.TokenOnlySerializer, request)
        try:
            user = email_flows.email_verify(token=data["token"])
        except email_flows.FlowError as exc:
            raise _flow_error(exc) from exc
        return Response(_profile(user))


class ResendVerificationView(_PublicAuthView):
    @extend_schema(request=s.EmailSerializer, responses={202: s.MessageSerializer},
                   summary="Send the verification email again")
    def post(self, request):
        data = _validated(s.EmailSerializer, request)
        email_flows.email_verification_resend(email=data["email"])
        return Response({"detail": ACCEPTED}, status=status.HTTP_202_ACCEPTED)


class LoginView(_PublicAuthView):
    @extend_schema(request=s.LoginSerializer, responses={200: s.TokenSerializer},
                   summary="Sign in with email, password and (with 2FA) a one-time code")
    def post(self, request):
        data = _validated(s.LoginSerializer, request)
        try:
            user = signin.check_password_step(request=request, email=data["email"],
                                              password=data["password"],
                                              channel=LoginAttempt.Channel.API)
            # A device means a code, always; staff without one get an enrolment-only
            # token (scope "enrolment") under REQUIRE_STAFF_2FA: see two_factor.
            verified = two_factor.has_device(user)
            if verified:
                code = data.get("otp_code")
                if not code:
                    signin.record_attempt(request=request, email=user.email, user=user,
                                          channel=LoginAttempt.Channel.API, success=False,
                                          reason=LoginAttempt.Reason.OTP_REQUIRED)
                    raise ApiError(401, "otp_required",
                                   "This account uses two-factor authentication: "
                                   "send otp_code as well.")
                signin.check_otp_step(request=request, user=user, code=code)
            signin.complete_sign_in(request=request, user=user, channel=LoginAttempt.Channel.API)
        except signin.SignInError as exc:
            raise _sign_in_error(exc) from exc
        return Response(_token_response(user, request, otp_verified=verified))


class _TokenView(APIView):
    permission_classes = [UserCredentialsRequired]


class RefreshView(_TokenView):
    @extend_schema(request=None, responses={200: s.TokenSerializer},
                   summary="Exchange the current token for a new one")
    def post(self, request):
        # A refreshed token is as verified as the sign-in that asks for it.
        verified = request.auth.otp_verified if request.auth is not None \
            else session_verified(request.user)
        body = _token_response(request.user, request, otp_verified=verified)
        if request.auth is not None:
            tokens.token_revoke(token=request.auth)
        return Response(body)


class LogoutView(_TokenView):
    @extend_schema(request=None, responses={204: None}, summary="Revoke the current token")
    def post(self, request):
        if request.auth is not None:
            tokens.token_revoke(token=request.auth)
        else:
            session_logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(_TokenView):
    @extend_schema(request=None, responses={204: None},
                   summary="Revoke every token of the account (sign out everywhere)")
    def post(self, request):
        tokens.tokens_revoke_all(user=request.user)
        if request.auth is None:
            session_logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(_TokenView):
    @extend_schema(responses={200: s.ProfileSerializer}, summary="Your profile")
    def get(self, request):
        return Response(_profile(request.user))

    @extend_schema(request=s.ProfileSerializer, responses={200: s.ProfileSerializer},
                   summary="Update your profile and preferences")
    def patch(self, request):
        serializer = s.ProfileSerializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(_profile(request.user))


class ChangePasswordView(_TokenView):
    @extend_schema(request=s.ChangePasswordSerializer, responses={204: None},
                   summary="Change your password (signs out your other tokens)")
    def post(self, request):
        data = _validated(s.ChangePasswordSerializer, request)
        try:
            email_flows.password_change(user=request.user, keep_token=request.auth,
                                        current_password=data["current_password"],
                                        new_password=data["new_password"])
        except email_flows.FlowError as exc:
            raise _flow_error(exc) from exc
        if request.auth is None:
            from django.contrib.auth import update_session_auth_hash

            update_session_auth_hash(request._request, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ForgotPasswordView(_PublicAuthView):
    @extend_schema(request=s.EmailSerializer, responses={202: s.MessageSerializer},
                   summary="Email a password reset link (same answer for any address)")
    def post(self, request):
        data = _validated(s.EmailSerializer, request)
        email_flows.password_reset_request(email=data["email"], request=request)
        return Response({"detail": ACCEPTED}, status=status.HTTP_202_ACCEPTED)


class ResetPasswordView(_PublicAuthView):
    @extend_schema(request=s.ResetPasswordSerializer, responses={200: s.MessageSerializer},
                   summary="Set a new password with the emailed uid and token")
    def post(self, request):
        data = _validated(s.ResetPasswordSerializer, request)
        try:
            email_flows.password_reset_confirm(**data)
        except email_flows.FlowError as exc:
            raise _flow_error(exc) from exc
        return Response({"detail": "Your password has been reset; sign in with it."})


def _two_factor_error(exc: otp.TwoFactorError) -> ApiError:
    field = {"invalid_password": "password", "invalid_otp": "code"}.get(exc.code)
    return ApiError(400, exc.code, exc.message, errors={field: [exc.message]} if field else {})


class TotpEnrolView(_TokenView):
    @extend_schema(request=None, responses={201: s.EnrolmentSerializer},
                   summary="Start TOTP enrolment: scan the QR code, then confirm a code")
    def post(self, request):
        try:
            enrolment = otp.totp_begin_enrolment(user=request.user)
        except otp.TwoFactorError as exc:
            raise _two_factor_error(exc) from exc
        return Response({"provisioning_uri": enrolment.provisioning_uri,
                         "qr_svg": enrolment.qr_svg}, status=status.HTTP_201_CREATED)


class TotpConfirmView(_TokenView):
    @extend_schema(request=s.CodeSerializer, responses={200: s.BackupCodesSerializer},
                   summary="Confirm enrolment with a first code; returns backup codes once")
    def post(self, request):
        data = _validated(s.CodeSerializer, request)
        try:
            codes = otp.totp_confirm(user=request.user, code=data["code"])
        except otp.TwoFactorError as exc:
            raise _two_factor_error(exc) from exc
        # A first code proves the second factor: this sign-in is verified from now on,
        # as the admin's enrolment page does for its session (an enrolment-only token
        # becomes a full one; other, older tokens stay unverified).
        if request.auth is not None:
            tokens.token_mark_verified(token=request.auth)
        else:
            otp_login(request._request, otp.confirmed_totp_device(request.user))
        return Response({"backup_codes": codes})


class BackupCodesView(_TokenView):
    @extend_schema(request=s.CodeSerializer, responses={200: s.BackupCodesSerializer},
                   summary="Replace your backup codes (needs a current code)")
    def post(self, request):
        data = _validated(s.CodeSerializer, request)
        if not otp.has_two_factor(request.user):
            raise ApiError(400, "not_enabled", "Two-factor authentication is not on.")
        try:
            signin.check_otp_step(request=request, user=request.user, code=data["code"])
        except signin.SignInError as exc:
            if exc.code == "account_locked":
                raise _sign_in_error(exc) from exc
            # The caller is signed in; a wrong code is bad input, not a failed sign-in.
            raise ApiError(400, exc.code, exc.message, errors={"code": [exc.message]}) from exc
        return Response({"backup_codes": otp.backup_codes_regenerate(user=request.user)})


class TwoFactorDisableView(_TokenView):
    @extend_schema(request=s.DisableTwoFactorSerializer, responses={204: None},
                   summary="Turn two-factor authentication off (password and a current code)")
    def post(self, request):
        data = _validated(s.DisableTwoFactorSerializer, request)
        try:
            otp.two_factor_disable(user=request.user, password=data["password"],
                                   code=data["code"])
        except otp.TwoFactorError as exc:
            raise _two_factor_error(exc) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)
