from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from core.admin.base import BaseModelAdmin, ReadOnlyModelAdmin

from .models import ApiToken, LoginAttempt, User
from .services import signin, users


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes = {"email": forms.EmailField}


@admin.register(User)
class UserAdmin(DjangoUserAdmin, BaseModelAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "status", "is_staff", "is_active",
                    "last_login", "locked_until")
    actions = ["unlock_accounts"]
    list_filter = ("status", "is_staff", "is_superuser", "is_active")
    search_fields = ("email", "first_name", "last_name")
    readonly_fields = ("last_login", "date_joined", "login_count", "failed_login_attempts")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("first_name", "last_name", "avatar_url", "timezone", "language",
                                "receive_email", "preferences", "metadata")}),
        ("Status and security", {"fields": ("status", "is_active", "locked_until",
                                            "login_count", "failed_login_attempts",
                                            "last_login", "date_joined")}),
        ("Permissions", {"fields": ("is_staff", "is_superuser", "groups", "user_permissions")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "usable_password", "password1",
                                                 "password2")}),
    )

    _PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += self._PRIVILEGE_FIELDS  # staff cannot grant themselves more
        return fields

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and not users.user_may_manage(by=request.user, user=obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and not users.user_may_manage(by=request.user, user=obj):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        # The forms hashed any new password already; the service applies the same
        # superuser and privilege rules as the API.
        users.user_save(obj, by=request.user)

    def delete_model(self, request, obj):
        users.user_delete(user=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            users.user_delete(user=user, by=request.user)

    @admin.action(description="Unlock selected accounts", permissions=["change"])
    def unlock_accounts(self, request, queryset):
        users = list(queryset)
        for user in users:
            signin.user_unlock(user=user)
        self.message_user(request, f"Unlocked {len(users)} account(s).")


@admin.register(LoginAttempt)
class LoginAttemptAdmin(ReadOnlyModelAdmin):
    list_display = ("created_at", "email", "user", "channel", "success", "reason", "ip_address")
    list_filter = ("success", "channel", "reason")
    search_fields = ("email", "ip_address")


@admin.register(ApiToken)
class ApiTokenAdmin(BaseModelAdmin):
    """Signed-in API clients; deleting one revokes it."""

    list_display = ("token_key", "user", "created", "expiry", "last_used_at", "ip_address",
                    "user_agent")
    search_fields = ("token_key", "user__email", "ip_address")
    exclude = ("digest",)

    def has_add_permission(self, request) -> bool:
        return False  # tokens come from signing in

    def has_change_permission(self, request, obj=None) -> bool:
        return False
