"""The admin sign-in form: password, then the one-time code, under the lockout rule."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from accounts.models import LoginAttempt
from accounts.services import otp, signin


class AdminLoginForm(AdminAuthenticationForm):
    otp_token = forms.CharField(
        required=False, label="Two-factor code",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text="From your authenticator app, or one of your backup codes.",
    )

    def clean(self):
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not email or password is None:
            return self.cleaned_data
        channel = LoginAttempt.Channel.ADMIN
        try:
            user = signin.check_password_step(request=self.request, email=email,
                                              password=password, channel=channel)
            self.confirm_login_allowed(user)
            if otp.has_two_factor(user):
                code = self.cleaned_data.get("otp_token")
                if not code:
                    signin.record_attempt(request=self.request, email=user.email, user=user,
                                          channel=channel, success=False,
                                          reason=LoginAttempt.Reason.OTP_REQUIRED)
                    raise ValidationError("Enter the code from your authenticator app "
                                          "(or a backup code).", code="otp_required")
                # django-otp stores this device in the session at login: verified.
                user.otp_device = signin.check_otp_step(request=self.request, user=user,
                                                        code=code)
        except signin.SignInError as exc:
            raise ValidationError(exc.message, code=exc.code) from exc
        signin.complete_sign_in(request=self.request, user=user, channel=channel)
        self.user_cache = user
        return self.cleaned_data

    def confirm_login_allowed(self, user):
        if not user.is_active or not user.is_staff:
            raise ValidationError(self.error_messages["invalid_login"], code="invalid_login",
                                  params={"username": self.username_field.verbose_name})
