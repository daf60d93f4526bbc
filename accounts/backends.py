"""Authentication backend: email login that refuses locked accounts."""

from django.contrib.auth.backends import ModelBackend

from accounts.models import User


class LockoutAwareBackend(ModelBackend):
    """ModelBackend keyed on email (any case) that never admits a locked account.

    The lockout bookkeeping itself lives in ``accounts.services.signin``; this
    guard makes sure no other path (``login()`` helpers, third-party views)
    can sign in a locked user.
    """

    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        email = email or username or kwargs.get(User.USERNAME_FIELD)
        if not email or password is None:
            return None
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            User().set_password(password)  # same cost as a real check: no timing oracle
            return None
        if user.is_locked:
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def user_can_authenticate(self, user) -> bool:
        blocked = {User.Status.SUSPENDED, User.Status.DEACTIVATED}
        return super().user_can_authenticate(user) and user.status not in blocked
