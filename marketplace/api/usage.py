"""Marketplace API of a workspace and a user: purchases (read, and buy through the
service), installations (read, and ``upgrade``), the download log (read), and your own
ratings.

Thin over ``marketplace.services``, like the catalogue's doors.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from core import tenancy
from core.api.routers import router
from core.api.schema import ErrorSerializer
from core.api.viewsets import (
    OwnRowsModelViewSet,
    ScopedGenericViewSet,
    ScopedReadOnlyModelViewSet,
)
from core.context import request_user

from .. import models as m
from ..services import installs, purchases, ratings
from . import serializers as s


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


class ComponentRatingViewSet(OwnRowsModelViewSet):
    """Your ratings (1 to 5, one per component); the component shows the average."""

    queryset = m.ComponentRating.objects.all()
    serializer_class = s.ComponentRatingSerializer

    def perform_create(self, serializer):
        serializer.instance = ratings.rating_create(user=self.request.user,
                                                    **serializer.validated_data)

    def perform_update(self, serializer):
        self.require_owner(serializer.instance, "change")
        serializer.instance = ratings.rating_update(serializer.instance,
                                                    **serializer.validated_data)

    def perform_destroy(self, instance):
        self.require_owner(instance, "delete")
        ratings.rating_delete(instance)


class ComponentPurchaseViewSet(ScopedGenericViewSet, mixins.ListModelMixin,
                               mixins.RetrieveModelMixin, mixins.CreateModelMixin):
    """A workspace's purchases.  Creating one buys the component (workspace admins):
    by credits now or on the subscription's next invoice; buying again returns the
    first purchase (200) and charges nothing."""

    queryset = m.ComponentPurchase.objects.all()
    serializer_class = s.ComponentPurchaseSerializer

    def perform_scoped_create(self, serializer):
        data = serializer.validated_data
        serializer.instance, self._created = purchases.component_purchase(
            workspace=data["workspace"], component=data["component"],
            method=data.get("method", m.ComponentPurchase.Method.CREDITS),
            by=request_user(self.request), principal=tenancy.principal_for(self.request))

    @extend_schema(summary="Buy a paid component for a workspace (once)",
                   responses={201: s.ComponentPurchaseSerializer,
                              200: s.ComponentPurchaseSerializer,
                              400: _error("free_component, no_subscription, "
                                          "currency_mismatch or invalid input."),
                              402: _error("insufficient_credits: nothing was charged."),
                              409: _error("not_for_sale: a draft or deprecated component.")})
    def create(self, request, *args, **kwargs):
        response = super().create(request, *args, **kwargs)
        if not getattr(self, "_created", True):
            response.status_code = status.HTTP_200_OK
        return response


class ComponentInstallationViewSet(ScopedGenericViewSet, mixins.ListModelMixin,
                                   mixins.RetrieveModelMixin):
    """Components installed in a workspace and the draft workflow each created.
    ``upgrade`` moves one to a newer version (members)."""

    queryset = m.ComponentInstallation.objects.all()
    serializer_class = s.ComponentInstallationSerializer

    @extend_schema(summary="Upgrade: the workflow's draft graph becomes the newer version's",
                   request=s.UpgradeBodySerializer,
                   responses={200: s.ComponentInstallationSerializer,
                              400: _error("Unknown version."),
                              402: _error("purchase_required: a paid component not bought."),
                              403: _error("Viewers may not upgrade."),
                              409: _error("up_to_date, version_yanked, draft_changed (send "
                                          "force), workflow_deleted, not_published.")})
    @action(detail=True, methods=["post"])
    def upgrade(self, request, pk=None):
        installation = self.get_object()
        body = s.UpgradeBodySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        installation = installs.installation_upgrade(
            installation, version=body.validated_data.get("version"),
            force=body.validated_data["force"], by=request_user(request),
            principal=tenancy.principal_for(request))
        return Response(self.get_serializer(installation).data)


class ComponentDownloadViewSet(ScopedReadOnlyModelViewSet):
    """Every install and upgrade in a workspace, as it happened."""

    queryset = m.ComponentDownload.objects.all()
    serializer_class = s.ComponentDownloadSerializer


router.register("marketplace/ratings", ComponentRatingViewSet)
router.register("marketplace/purchases", ComponentPurchaseViewSet)
router.register("marketplace/installations", ComponentInstallationViewSet)
router.register("marketplace/downloads", ComponentDownloadViewSet)

urlpatterns: list = []
