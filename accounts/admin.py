from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from core.admin.base import BaseModelAdmin, ReadOnlyModelAdmin
from core.admin.services import adopt

from .models import ApiToken, LoginAttempt, User, UserVariable
from .services import signin, users, variables


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


class UserVariableForm(forms.ModelForm):
    """A secret's value is write-only here: typed in, never rendered back."""

    value = forms.CharField(required=False, strip=False, max_length=variables.MAX_VALUE,
                            widget=forms.Textarea(attrs={"rows": 3}))

    class Meta:
        model = UserVariable
        fields = ("user", "name", "description", "is_secret")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.was_secret = self.instance.pk is not None and self.instance.is_secret
        if self.was_secret:
            self.fields["value"].widget = forms.PasswordInput(render_value=False)
            reveal = reverse("admin:accounts_uservariable_reveal", args=[self.instance.pk])
            self.fields["value"].help_text = format_html(
                'Secret: leave empty to keep the current value. <a href="{}">Reveal it</a> '
                "(recorded in the audit trail).", reveal)
        else:
            self.initial["value"] = self.instance.value
            self.fields["value"].help_text = ("Ticking “is secret” encrypts the value and "
                                              "hides it from then on.")

    def clean(self):
        # The service holds these rules too; checked here so the form can show them.
        cleaned = super().clean()
        user = cleaned.get("user") or getattr(self.instance, "user", None)
        name, value = cleaned.get("name"), cleaned.get("value")
        if user is not None and name and UserVariable.objects.filter(
                user=user, name=name).exclude(pk=self.instance.pk).exists():
            self.add_error("name", f"{user} already has a variable named {name}.")
        if cleaned.get("is_secret") and not value and not self.was_secret:
            self.add_error("value", "A secret variable needs a value.")
        if self.was_secret and not cleaned.get("is_secret") and not value:
            self.add_error("value", "Give a new value to make a secret variable plain.")
        return cleaned

    def _post_clean(self):
        # ModelForm would assign the typed value to the instance and validate it as the
        # plain column; the service stores it (encrypted for secrets) instead.
        value = self.cleaned_data.get("value")
        super()._post_clean()
        self.cleaned_data["value"] = value


@admin.register(UserVariable)
class UserVariableAdmin(BaseModelAdmin):
    form = UserVariableForm
    list_display = ("name", "user", "is_secret", "shown_value", "updated_at")
    list_filter = ("is_secret",)
    search_fields = ("name", "description", "user__email")
    object_pages = {"reveal": ("reveal/", "reveal_view")}

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "user"] if obj is not None else fields

    @admin.display(description="value")
    def shown_value(self, obj):
        if obj.is_secret:
            return "•••••• (secret)"
        return obj.value if len(obj.value) <= 80 else obj.value[:79] + "…"

    def save_model(self, request, obj, form, change):
        data = {k: form.cleaned_data.get(k) for k in ("name", "description", "is_secret")}
        value = form.cleaned_data.get("value") or ""
        if not change:
            adopt(obj, variables.variable_create(user=form.cleaned_data["user"], value=value,
                                                 **data))
            return
        stored = UserVariable.objects.get(pk=obj.pk)
        if stored.is_secret and not value:
            value = None  # an empty box keeps the secret
        adopt(obj, variables.variable_update(variable=stored, value=value, **data))

    def reveal_view(self, request, object_id):
        variable = self.get_object_or_404(request, object_id)
        if not self.has_change_permission(request, variable):
            raise PermissionDenied
        value = None
        if request.method == "POST":
            value = variables.variable_reveal(variable=variable)
        context = {**self.admin_site.each_context(request), "opts": self.opts,
                   "original": variable, "title": f"Reveal {variable}", "value": value}
        response = TemplateResponse(request, "admin/accounts/uservariable/reveal.html", context)
        response["Cache-Control"] = "no-store"
        return response
