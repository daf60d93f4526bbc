from accounts.api.serializers import UserSerializer
from accounts.queries import users_with_two_factor_state
from core.api.viewsets import ModelViewSet


class UserViewSet(ModelViewSet):
    """User accounts (staff with the matching model permissions)."""

    queryset = users_with_two_factor_state()
    serializer_class = UserSerializer
