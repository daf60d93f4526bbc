"""Authentication backend: email login that refuses locked accounts."""

from django.contrib.auth.backends import ModelBackend

from accounts.models import User
from accounts.services.signin import can_sign_in, password_matches


class LockoutAwareBackend(ModelBackend):
    """ModelBackend keyed on email (any case) that never admits a locked account.

    The lockout bookkeeping itself lives in ``accounts.services.signin``; this
    guard makes sure no other path (``login()`` helpers, third-party views)
    can sign in a locked user.  It hashes exactly once on every path, as the
    sign-in service does, so its timing reveals nothing either.
    """

    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        email = email or username or kwargs.get(User.USERNAME_FIELD)
        if not email or password is None:
            return None
        user = User.objects.filter(email__iexact=email.strip()).first()
        if not password_matches(user, password):
            return None
        if user.is_locked or not self.user_can_authenticate(user):
            return None
        return user

    def user_can_authenticate(self, user) -> bool:
        return can_sign_in(user)
