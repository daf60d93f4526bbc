"""System check: the API's session authentication needs django-otp's middleware, in order.

``accounts.authentication.SessionAuthentication`` reads ``request.user.is_verified()``,
which ``OTPMiddleware`` sets from the session after ``AuthenticationMiddleware``
has put the user there.  Without it every session of a user the two-factor rule
covers is refused (fail closed); a deployment should hear about that at start-up.
"""

from django.conf import settings
from django.core.checks import Error, register

AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"
OTP_MIDDLEWARE = "django_otp.middleware.OTPMiddleware"


@register()
def otp_middleware_check(app_configs=None, **kwargs):
    middleware = list(settings.MIDDLEWARE)
    if OTP_MIDDLEWARE not in middleware:
        return [Error(f"{OTP_MIDDLEWARE} is missing from MIDDLEWARE.",
                      hint="Sessions then never count as two-factor verified on the API "
                           "or in the admin.", id="accounts.E001")]
    if AUTH_MIDDLEWARE not in middleware or \
            middleware.index(OTP_MIDDLEWARE) < middleware.index(AUTH_MIDDLEWARE):
        return [Error(f"{OTP_MIDDLEWARE} must come after {AUTH_MIDDLEWARE}.",
                      hint="It verifies the user that AuthenticationMiddleware loads.",
                      id="accounts.E002")]
    return []
