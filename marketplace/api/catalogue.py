"""Marketplace catalogue API: components and their versions (every signed-in caller
reads published and deprecated ones; staff see drafts and write), and the doors a
workspace uses on a component: ``purchase`` and ``install``.

Thin over ``marketplace.services``: every rule and refusal comes from there, the same
as in the admin and the management command.
"""

from __future__ import annotations

from django.db.models import Q
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from core import tenancy
from core.api.permissions import PublicReadPermission
from core.api.routers import router
from core.api.schema import ErrorSerializer
from core.api.viewsets import GenericViewSet, PublicReadModelViewSet, ResourceMixin
from core.context import request_user

from .. import models as m
from ..services import catalogue as catalogue_services
from ..services import installs, purchases
from . import serializers as s

_OFFERED = (m.MarketplaceComponent.Status.PUBLISHED, m.MarketplaceComponent.Status.DEPRECATED)


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


def _sees_drafts(request) -> bool:
    principal = tenancy.principal_for(request)
    user = principal.user
    return principal.sees_everything or bool(
        user is not None and user.is_staff
        and user.has_perm("marketplace.view_marketplacecomponent"))


class SignedIn(BasePermission):
    """Any signed-in user or API key; the service checks the role in the workspace."""

    def has_permission(self, request, view) -> bool:
        return tenancy.principal_for(request).is_authenticated


_ACTION_ERRORS = {
    400: _error("Invalid input: unknown workspace or version, a name already used "
                "(name), free_component, no_subscription, currency_mismatch."),
    402: _error("purchase_required (install of a paid component not bought) or "
                "insufficient_credits (nothing was charged)."),
    403: _error("Your role in the workspace is too low (buying: admin; installing: member)."),
    404: _error("No such component."),
    409: _error("not_for_sale, deprecated, not_published, version_yanked, no_version."),
}


class MarketplaceComponentViewSet(PublicReadModelViewSet):
    """Components: packaged workflows with a price (minor units; 0 = free), status and
    the users' rating.  Clients see published and deprecated ones; staff manage them."""

    queryset = m.MarketplaceComponent.objects.all()
    serializer_class = s.MarketplaceComponentSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        return queryset if _sees_drafts(self.request) else queryset.filter(status__in=_OFFERED)

    def _body(self, request, body_class):
        body = body_class(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        return body.validated_data

    @extend_schema(summary="Buy a paid component for a workspace (once)",
                   request=s.PurchaseBodySerializer,
                   responses={201: s.ComponentPurchaseSerializer,
                              200: s.ComponentPurchaseSerializer, **_ACTION_ERRORS})
    @action(detail=True, methods=["post"], permission_classes=[SignedIn])
    def purchase(self, request, pk=None):
        component = self.get_object()
        data = self._body(request, s.PurchaseBodySerializer)
        purchase, created = purchases.component_purchase(
            workspace=data["workspace"], component=component, method=data["method"],
            by=request_user(request), principal=tenancy.principal_for(request))
        return Response(s.ComponentPurchaseSerializer(purchase).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(summary="Install a component in a workspace as a new draft workflow",
                   request=s.InstallBodySerializer,
                   responses={201: s.ComponentInstallationSerializer, **_ACTION_ERRORS})
    @action(detail=True, methods=["post"], permission_classes=[SignedIn])
    def install(self, request, pk=None):
        component = self.get_object()
        data = self._body(request, s.InstallBodySerializer)
        installation = installs.component_install(
            workspace=data["workspace"], component=component, version=data.get("version"),
            name=data.get("name"), by=request_user(request),
            principal=tenancy.principal_for(request))
        return Response(s.ComponentInstallationSerializer(installation).data,
                        status=status.HTTP_201_CREATED)


class ComponentVersionViewSet(ResourceMixin, GenericViewSet, mixins.ListModelMixin,
                              mixins.RetrieveModelMixin, mixins.CreateModelMixin):
    """Versions of components, newest first by semantic version.  Staff publish one
    (greater than every earlier version; a workflow payload is checked as an import
    would be) and may yank it; nobody edits or deletes one.  Only staff read payloads:
    everyone else gets a version's workflow by installing it (after buying a paid one)."""

    queryset = m.ComponentVersion.objects.all()
    serializer_class = s.ComponentVersionSerializer
    permission_classes = [PublicReadPermission]
    ordering = ("component", "-sequence")

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        if _sees_drafts(self.request):
            return queryset
        return queryset.filter(Q(component__status__in=_OFFERED))

    def get_serializer_class(self):
        if getattr(self, "swagger_fake_view", False) or _sees_drafts(self.request):
            return s.ComponentVersionSerializer
        return s.ComponentVersionPublicSerializer

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = catalogue_services.version_publish(
            component=data["component"], version=data["version"], payload=data["payload"],
            changelog=data.get("changelog", ""), by=request_user(self.request))

    @extend_schema(summary="Publish a version (staff)",
                   responses={201: s.ComponentVersionSerializer,
                              400: _error("Not a semantic version, not greater than the "
                                          "latest, or a payload an import would refuse.")})
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    @extend_schema(summary="Yank a version: no new installs or upgrades to it (staff)",
                   request=s.YankBodySerializer,
                   responses={200: s.ComponentVersionSerializer})
    @action(detail=True, methods=["post"])
    def yank(self, request, pk=None):
        version = self.get_object()
        body = s.YankBodySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        version = catalogue_services.version_yank(version, reason=body.validated_data["reason"],
                                                  by=request_user(request))
        return Response(self.get_serializer(version).data)


router.register("marketplace/components", MarketplaceComponentViewSet)
router.register("marketplace/versions", ComponentVersionViewSet)

urlpatterns: list = []
