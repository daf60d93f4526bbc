"""Workspace resources: scoped CRUD on the core bases; rules live in the services."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core import tenancy
from core.api.errors import ApiError
from core.api.parsers import FormParser, JSONParser
from core.api.viewsets import (
    ScopedGenericViewSet,
    ScopedModelViewSet,
    ScopedReadOnlyModelViewSet,
)
from core.context import request_user
from core.net import client_ip
from workspaces import models as m
from workspaces import queries
from workspaces.services import files, invitations, keys, projects, vault
from workspaces.services import workspaces as ws

from . import serializers as s


def _require(request, obj, action_name: str) -> None:
    if not tenancy.can(tenancy.principal_for(request), obj, action_name):
        raise PermissionDenied("Your role in this workspace does not allow this.")


class WorkspaceViewSet(ScopedModelViewSet):
    """Workspaces you belong to. Creating one makes you its owner."""

    queryset = m.Workspace.objects.all()
    serializer_class = s.WorkspaceSerializer

    def perform_scoped_create(self, serializer):
        owner = request_user(self.request)
        if owner is None:
            raise PermissionDenied("API keys cannot create workspaces.")
        serializer.instance = ws.workspace_create(owner=owner, **serializer.validated_data)

    @extend_schema(request=s.TransferSerializer, responses={200: s.WorkspaceSerializer},
                   summary="Transfer ownership to another member (owner only)")
    @action(detail=True, methods=["post"])
    def transfer(self, request, pk=None):
        workspace = self.get_object()
        _require(request, workspace, "delete")  # owner-level action
        data = s.TransferSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = queries.membership_of(data.validated_data["user"], workspace)
        if member is None:
            raise ApiError(400, "invalid", "Invalid input.",
                           errors={"user": ["The new owner must already be a member."]})
        ws.workspace_transfer(workspace=workspace, new_owner=member.user, by=request_user(request))
        return Response(self.get_serializer(workspace).data)


class RoleViewSet(ScopedModelViewSet):
    queryset = m.Role.objects.all()
    serializer_class = s.RoleSerializer


class MembershipViewSet(ScopedGenericViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        mixins.UpdateModelMixin, mixins.DestroyModelMixin):
    """Members join by invitation; change roles here, remove members (not the owner)."""

    queryset = m.Membership.objects.all()
    serializer_class = s.MembershipSerializer

    def perform_update(self, serializer):
        serializer.instance = ws.membership_update(
            membership=serializer.instance, by=request_user(self.request),
            **serializer.validated_data)

    def perform_destroy(self, instance):
        ws.membership_remove(membership=instance, by=request_user(self.request))


class InvitationViewSet(ScopedGenericViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        mixins.CreateModelMixin, mixins.DestroyModelMixin):
    """Invite by email (admins); the link accepts for the invited address only."""

    queryset = m.Invitation.objects.all()
    serializer_class = s.InvitationSerializer

    def perform_scoped_create(self, serializer):
        serializer.instance = invitations.invitation_create(
            invited_by=request_user(self.request), **serializer.validated_data)

    def _invitation_action(self, request, service):
        invitation = self.get_object()
        _require(request, invitation, "change")
        try:
            service(invitation=invitation)
        except invitations.InvitationError as exc:
            raise ApiError(400, exc.code, exc.message) from exc
        return Response(self.get_serializer(invitation).data)

    @extend_schema(request=None, responses={200: s.InvitationSerializer},
                   summary="Send again with a new link and a fresh expiry")
    @action(detail=True, methods=["post"])
    def resend(self, request, pk=None):
        return self._invitation_action(request, invitations.invitation_resend)

    @extend_schema(request=None, responses={200: s.InvitationSerializer},
                   summary="Revoke: the link stops working")
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        return self._invitation_action(request, invitations.invitation_revoke)


class _InvitationTokenView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    def _token(self, request) -> str:
        data = s.InvitationTokenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return data.validated_data["token"]


class AcceptInvitationView(_InvitationTokenView):
    @extend_schema(request=s.InvitationTokenSerializer, responses={201: s.MembershipSerializer},
                   summary="Accept an invitation as the signed-in (invited) user")
    def post(self, request):
        user = request_user(request)
        if user is None:
            raise PermissionDenied("Sign in as the invited person to accept.")
        try:
            membership = invitations.invitation_accept(token=self._token(request), user=user)
        except invitations.InvitationError as exc:
            raise ApiError(400, exc.code, exc.message, errors={"token": [exc.message]}) from exc
        return Response(s.MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


class DeclineInvitationView(_InvitationTokenView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(request=s.InvitationTokenSerializer, responses={200: s.InvitationSerializer},
                   summary="Decline an invitation")
    def post(self, request):
        try:
            invitation = invitations.invitation_decline(token=self._token(request))
        except invitations.InvitationError as exc:
            raise ApiError(400, exc.code, exc.message, errors={"token": [exc.message]}) from exc
        return Response({"status": invitation.status})


class ProjectViewSet(ScopedModelViewSet):
    queryset = m.Project.objects.all()
    serializer_class = s.ProjectSerializer

    def perform_scoped_create(self, serializer):
        serializer.instance = projects.project_create(by=request_user(self.request),
                                                      **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = projects.project_update(
            project=serializer.instance, by=request_user(self.request),
            **serializer.validated_data)


class ProjectVersionViewSet(ScopedModelViewSet):
    queryset = m.ProjectVersion.objects.all()
    serializer_class = s.ProjectVersionSerializer


class ProjectCollaboratorViewSet(ScopedModelViewSet):
    queryset = m.ProjectCollaborator.objects.all()
    serializer_class = s.ProjectCollaboratorSerializer


class ProjectCommentViewSet(ScopedModelViewSet):
    queryset = m.ProjectComment.objects.all()
    serializer_class = s.ProjectCommentSerializer

    def perform_scoped_create(self, serializer):
        serializer.save(author=request_user(self.request))


class ActivityViewSet(ScopedReadOnlyModelViewSet):
    queryset = m.Activity.objects.all()
    serializer_class = s.ActivitySerializer


class WorkspaceFeatureViewSet(ScopedModelViewSet):
    queryset = m.WorkspaceFeature.objects.all()
    serializer_class = s.WorkspaceFeatureSerializer


class TagViewSet(ScopedModelViewSet):
    queryset = m.Tag.objects.all()
    serializer_class = s.TagSerializer


class FileViewSet(ScopedModelViewSet):
    """Upload with multipart/form-data; size, type and SHA-256 are computed."""

    queryset = m.File.objects.all()
    serializer_class = s.FileSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def perform_scoped_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = files.file_store(upload=data.pop("file"),
                                               by=request_user(self.request), **data)

    @extend_schema(responses={(200, "application/octet-stream"): bytes},
                   summary="Download the file's content")
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        stored = self.get_object()
        return FileResponse(stored.file.open("rb"), as_attachment=True, filename=stored.name,
                            content_type=stored.content_type or "application/octet-stream")


class SecretViewSet(ScopedModelViewSet):
    """Values are write-only; reading one is the audited reveal action (admins)."""

    queryset = m.Secret.objects.all()
    serializer_class = s.SecretSerializer

    def perform_scoped_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = vault.secret_create(by=request_user(self.request), **data)

    def perform_update(self, serializer):
        value = serializer.validated_data.pop("value", None)
        secret = serializer.save()
        if value is not None:
            vault.secret_set_value(secret=secret, value=value, ip=client_ip(self.request),
                                   principal=tenancy.principal_for(self.request))

    @extend_schema(request=None, responses={200: s.SecretValueSerializer},
                   summary="Reveal the value (admin role; recorded as a SecretAccess)")
    @action(detail=True, methods=["post"])
    def reveal(self, request, pk=None):
        secret = self.get_object()
        _require(request, secret, "change")
        value = vault.secret_reveal(secret=secret, principal=tenancy.principal_for(request),
                                    ip=client_ip(request))
        return Response({"value": value}, headers={"Cache-Control": "no-store"})


class SecretAccessViewSet(ScopedReadOnlyModelViewSet):
    queryset = m.SecretAccess.objects.all()
    serializer_class = s.SecretAccessSerializer


class ApiKeyViewSet(ScopedModelViewSet):
    """Workspace API keys: the key is in the create response only."""

    queryset = m.ApiKey.objects.all()
    serializer_class = s.ApiKeySerializer

    def perform_scoped_create(self, serializer):
        data = dict(serializer.validated_data)
        minting_key = tenancy.principal_for(self.request).api_key
        if minting_key is not None:
            try:
                data = keys.limits_for_minted_key(minting_key, data)
            except DjangoValidationError as exc:
                raise ApiError(400, "invalid", "Invalid input.", errors=exc.message_dict) from exc
        key, self._raw_key = keys.api_key_create(by=request_user(self.request), **data)
        serializer.instance = key

    @extend_schema(responses={201: s.ApiKeyCreatedSerializer})
    def create(self, request, *args, **kwargs):
        response = super().create(request, *args, **kwargs)
        response.data["key"] = self._raw_key
        return response

    def perform_update(self, serializer):
        try:
            serializer.instance = keys.api_key_update(
                key=serializer.instance, changes=dict(serializer.validated_data),
                acting_key=tenancy.principal_for(self.request).api_key)
        except keys.KeyRuleError as exc:
            raise ApiError(403, exc.code, exc.message, errors={exc.field: [exc.message]}) from exc

    @extend_schema(request=None, responses={200: s.ApiKeySerializer}, summary="Revoke the key")
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        key = self.get_object()
        _require(request, key, "change")
        keys.api_key_revoke(key=key)
        return Response(self.get_serializer(key).data)
