"""The back office's admin site: django-otp's two-factor site, installed as the default.

Installed through ``AdminConfig.default_site`` so every ``@admin.register``
lands here.  Staff with a device must enter a code at sign-in; with
``REQUIRE_STAFF_2FA`` staff without one are sent to enrolment, never into the
admin.  The site's own login view is the only way in (there is no stock
``LoginView`` routed), and it runs the lockout rule.  The login form
(``settings.ADMIN_LOGIN_FORM``) and the enrolment page
(``settings.ADMIN_TWO_FACTOR_SETUP_URL``) belong to the accounts app, named
in settings so the kernel imports nothing above it.
"""

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.module_loading import import_string
from django_otp.admin import OTPAdminSite


class AdminSite(OTPAdminSite):
    site_header = "Synapscale back office"
    site_title = "Synapscale"
    index_title = "Administration"
    login_template = "admin/synapscale_login.html"

    def __init__(self, name: str = "admin"):
        super().__init__(name)

    @property
    def login_form(self):
        return import_string(settings.ADMIN_LOGIN_FORM)

    def has_permission(self, request) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        if user.is_verified():
            return True
        return not settings.REQUIRE_STAFF_2FA and not _has_device(user)

    def login(self, request, extra_context=None):
        # Signed in with a password but not allowed in for want of a device: enrol.
        if request.method == "GET" and needs_enrolment(request.user):
            return redirect(reverse(settings.ADMIN_TWO_FACTOR_SETUP_URL))
        return super().login(request, extra_context)


def _has_device(user) -> bool:
    from django_otp import user_has_device

    return user_has_device(user, confirmed=True)


def needs_enrolment(user) -> bool:
    return (
        user.is_authenticated and user.is_active and user.is_staff
        and settings.REQUIRE_STAFF_2FA and not _has_device(user)
    )
