from contextlib import contextmanager

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from accounts.api.auth_serializers import SessionSerializer
from accounts.api.serializers import LoginAttemptSerializer, UserSerializer
from accounts.models import ApiToken, LoginAttempt
from accounts.queries import users_with_two_factor_state
from accounts.services import signin, tokens, users
from core.api.permissions import UserCredentialsRequired
from core.api.viewsets import GenericViewSet, ModelViewSet, ReadOnlyModelViewSet, ResourceMixin


@contextmanager
def _as_api_denial():
    """The service's reason, kept in the 403 body."""
    try:
        yield
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc) or None) from exc


class UserViewSet(ModelViewSet):
    """User accounts (staff with the matching model permissions)."""

    queryset = users_with_two_factor_state()
    serializer_class = UserSerializer

    def perform_create(self, serializer):
        with _as_api_denial():
            serializer.instance = users.user_create(by=self.request.user,
                                                    **serializer.validated_data)

    def perform_update(self, serializer):
        with _as_api_denial():
            serializer.instance = users.user_update(user=serializer.instance,
                                                    by=self.request.user,
                                                    **serializer.validated_data)

    def perform_destroy(self, instance):
        with _as_api_denial():
            users.user_delete(user=instance, by=self.request.user)

    @extend_schema(request=None, responses={200: UserSerializer},
                   summary="Unlock an account locked after failed sign-ins")
    @action(detail=True, methods=["post"])
    def unlock(self, request, pk=None):
        user = self.get_object()
        signin.user_unlock(user=user)
        return Response(self.get_serializer(self.get_queryset().get(pk=user.pk)).data)


class LoginAttemptViewSet(ReadOnlyModelViewSet):
    """Every sign-in attempt: read-only."""

    queryset = LoginAttempt.objects.all()
    serializer_class = LoginAttemptSerializer


class SessionViewSet(ResourceMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                     mixins.DestroyModelMixin, GenericViewSet):
    """Your signed-in API tokens; revoke any of them. Staff with the view
    permission see everyone's."""

    queryset = ApiToken.objects.all()
    serializer_class = SessionSerializer
    permission_classes = [UserCredentialsRequired]

    def get_queryset(self):
        queryset = super().get_queryset()
        user = getattr(self.request, "user", None)
        if user is None or not user.is_authenticated:
            return queryset.none()
        if user.has_perm("accounts.view_apitoken"):
            return queryset
        return queryset.filter(user=user)

    def destroy(self, request, *args, **kwargs):
        token = self.get_object()
        if token.user_id != request.user.pk and not request.user.has_perm(
                "accounts.delete_apitoken"):
            raise PermissionDenied("Revoking someone else's session needs the delete permission.")
        tokens.token_revoke(token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)
