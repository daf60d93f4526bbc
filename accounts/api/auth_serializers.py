"""Request and response bodies of the /auth/ endpoints."""

from rest_framework import serializers

from accounts.models import ApiToken, User
from core import flags
from core.api.serializers import BaseModelSerializer


class ProfileSerializer(BaseModelSerializer):
    """What a user sees and edits of their own account."""

    two_factor_enabled = serializers.BooleanField(read_only=True)
    active_flags = serializers.SerializerMethodField(
        help_text="Keys of the feature flags on for you (core.flags, without a workspace).")

    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "status", "timezone", "language",
                  "avatar_url", "receive_email", "preferences", "two_factor_enabled",
                  "date_joined", "last_login", "login_count", "active_flags"]
        read_only_fields = ["email", "status", "date_joined", "last_login", "login_count"]

    def get_active_flags(self, user) -> list[str]:
        return flags.active_flags(user=user)


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, style={"input_type": "password"})
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class LoginSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=128, style={"input_type": "password"})
    otp_code = serializers.CharField(
        max_length=16, required=False, allow_blank=True,
        help_text="Required when the account has two-factor authentication: a code from the "
                  "authenticator app or an unused backup code.")


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`. Shown once.")
    expiry = serializers.DateTimeField()
    scope = serializers.ChoiceField(
        choices=["full", "enrolment"],
        help_text="`enrolment`: a staff account without two-factor authentication (while it "
                  "is required) may only use `POST /auth/2fa/totp/`, `POST /auth/2fa/totp/"
                  "confirm/`, `GET /auth/me/` and `POST /auth/logout/`; anything else answers "
                  "403 `two_factor_enrolment_required`. Confirming a device with this token "
                  "makes it a `full` one.")
    user = ProfileSerializer()


class EmailSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class TokenOnlySerializer(serializers.Serializer):
    token = serializers.CharField(max_length=500)


class ResetPasswordSerializer(serializers.Serializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    new_password = serializers.CharField(max_length=128, style={"input_type": "password"})


class ChangePasswordSerializer(serializers.Serializer):
    current_password = serializers.CharField(max_length=128, style={"input_type": "password"})
    new_password = serializers.CharField(max_length=128, style={"input_type": "password"})


class MessageSerializer(serializers.Serializer):
    detail = serializers.CharField()


class CodeSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=16)


class DisableTwoFactorSerializer(serializers.Serializer):
    password = serializers.CharField(max_length=128, style={"input_type": "password"})
    code = serializers.CharField(max_length=16)


class EnrolmentSerializer(serializers.Serializer):
    provisioning_uri = serializers.CharField()
    qr_svg = serializers.CharField(help_text="The provisioning URI as an SVG QR code.")


class BackupCodesSerializer(serializers.Serializer):
    backup_codes = serializers.ListField(child=serializers.CharField(),
                                         help_text="Single-use codes, shown only this once.")


class SessionSerializer(BaseModelSerializer):
    current = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = ["id", "token_key", "user", "created", "expiry", "last_used_at", "ip_address",
                  "user_agent", "otp_verified", "current"]
        read_only_fields = fields

    def get_current(self, token) -> bool:
        request = self.context.get("request")
        return bool(request is not None and getattr(request, "auth", None) is not None
                    and getattr(request.auth, "pk", None) == token.pk)
