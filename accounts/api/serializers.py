from django.contrib.auth import password_validation
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from accounts.models import LoginAttempt, User
from core.api.serializers import BaseModelSerializer


class UserSerializer(BaseModelSerializer):
    """Staff-facing user management; security counters are read-only here.

    Validation only: ``accounts.services.users`` creates and changes the account.
    """

    email = serializers.EmailField(
        max_length=254,
        validators=[UniqueValidator(queryset=User.objects.all(), lookup="iexact",
                                    message="A user with this email address already exists.")],
    )
    password = serializers.CharField(
        write_only=True, required=False, style={"input_type": "password"},
        help_text="Sets a new password; omitted on create means the user cannot sign in "
                  "with a password until one is set.",
    )
    two_factor_enabled = serializers.BooleanField(read_only=True)

    class Meta:
        model = User
        fields = [
            "id", "email", "password", "first_name", "last_name", "is_active", "is_staff",
            "is_superuser", "status", "timezone", "language", "avatar_url", "receive_email",
            "preferences", "metadata", "two_factor_enabled", "login_count",
            "failed_login_attempts", "locked_until", "last_login", "date_joined",
        ]
        read_only_fields = [
            "is_staff", "is_superuser", "login_count", "failed_login_attempts", "locked_until",
            "last_login", "date_joined",
        ]

    def validate_email(self, value: str) -> str:
        return User.objects.normalize_email(value).lower()

    def validate(self, attrs):
        password = attrs.pop("password", None)
        attrs = super().validate(attrs)
        if password is not None:
            probe = self.instance or User(**attrs)
            try:
                password_validation.validate_password(password, probe)
            except Exception as exc:
                raise serializers.ValidationError({"password": list(exc.messages)}) from exc
            attrs["password"] = password
        return attrs



class LoginAttemptSerializer(BaseModelSerializer):
    class Meta:
        model = LoginAttempt
        fields = ["id", "created_at", "email", "user", "ip_address", "user_agent", "channel",
                  "success", "reason"]
