"""Credits API: the ledger (read, scoped like every workspace resource), the balance of a
workspace, and the staff-only grant and top-up.  The rules are
``billing.services.credits``'s."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core import tenancy
from core.api.errors import ApiError
from core.api.routers import router
from core.api.serializers import BaseModelSerializer
from core.api.viewsets import ScopedReadOnlyModelViewSet

from ..models import CreditTransaction
from ..services import credits

STAFF_PERMISSION = "billing.add_credittransaction"


class CreditTransactionSerializer(BaseModelSerializer):
    class Meta:
        model = CreditTransaction
        fields = ["id", "workspace", "created_at", "kind", "amount", "balance_after",
                  "remaining", "expires_at", "reference", "hold", "source_type", "source_id",
                  "description", "created_by"]
        read_only_fields = fields


class GrantSerializer(serializers.Serializer):
    workspace = serializers.IntegerField(min_value=1)
    amount = serializers.DecimalField(max_digits=18, decimal_places=4, min_value=0)
    reason = serializers.CharField(max_length=300)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True,
                                      default="", help_text="Idempotency key (optional).")


class TopupSerializer(serializers.Serializer):
    workspace = serializers.IntegerField(min_value=1)
    amount = serializers.DecimalField(max_digits=18, decimal_places=4, min_value=0)
    reference = serializers.CharField(max_length=120, help_text="The payment's id: a top-up "
                                      "with a reference already used adds nothing.")
    description = serializers.CharField(max_length=300, required=False, allow_blank=True,
                                        default="")
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


BalanceSerializer = inline_serializer("CreditBalance", {
    "workspace": serializers.IntegerField(),
    "balance": serializers.DecimalField(max_digits=18, decimal_places=4),
    "expiring": inline_serializer("CreditExpiring", {
        "transaction": serializers.IntegerField(),
        "remaining": serializers.DecimalField(max_digits=18, decimal_places=4),
        "expires_at": serializers.DateTimeField()}, many=True),
})


def _workspace_model():
    from workspaces.models import Workspace

    return Workspace


def _staff(request):
    user = getattr(request, "user", None)
    principal = tenancy.principal_for(request)
    if principal.api_key is not None or user is None or not user.is_authenticated or \
            not user.is_staff or not user.has_perm(STAFF_PERMISSION):
        raise ApiError(403, "permission_denied", "Granting and topping up credits is for "
                       f"staff with the {STAFF_PERMISSION} permission.")
    return user


def _workspace_for_staff(workspace_id: int):
    workspace = _workspace_model().objects.filter(pk=workspace_id).first()
    if workspace is None:
        raise ApiError(400, "invalid", f"No workspace {workspace_id}.",
                       errors={"workspace": [f"No workspace {workspace_id}."]})
    return workspace


class CreditTransactionViewSet(ScopedReadOnlyModelViewSet):
    """The credits ledger of your workspaces, newest first: every top-up, grant,
    consumption, hold, release, refund, expiry and invoice payment, with the balance it
    left (`balance_after`).  Append-only: read here; staff add credits with `grant/` and
    `topup/`."""

    queryset = CreditTransaction.objects.all()
    serializer_class = CreditTransactionSerializer
    lookup_value_regex = "[0-9]+"

    @extend_schema(parameters=[OpenApiParameter("workspace", OpenApiTypes.INT, required=True,
                                                description="The workspace's id.")],
                   responses={200: BalanceSerializer},
                   summary="A workspace's credit balance, and its credits that expire",
                   description="404 for a workspace you cannot see.")
    @action(detail=False, methods=["get"])
    def balance(self, request):
        raw = request.query_params.get("workspace", "")
        if not raw.isdigit():
            raise ApiError(400, "invalid", "Name the workspace: ?workspace=<id>.",
                           errors={"workspace": ["A workspace id is required."]})
        workspace = _workspace_model().objects.filter(pk=int(raw)).first()
        principal = tenancy.principal_for(request)
        if workspace is None or not tenancy.can_in_workspace(principal, workspace,
                                                             CreditTransaction, "view"):
            raise ApiError(404, "not_found", "No such workspace.")
        return Response({"workspace": workspace.pk,
                         "balance": str(credits.balance(workspace.pk)),
                         "expiring": [{**row, "remaining": str(row["remaining"])}
                                      for row in credits.expiring(workspace.pk)]})

    @extend_schema(request=GrantSerializer, responses={201: CreditTransactionSerializer},
                   summary="Grant free credits (staff)",
                   description="Staff with `billing.add_credittransaction`; optional expiry "
                               "(the unused part expires); a repeated `reference` adds "
                               "nothing and returns the first grant.")
    @action(detail=False, methods=["post"], permission_classes=[IsAuthenticated])
    def grant(self, request):
        user = _staff(request)
        body = GrantSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        workspace = _workspace_for_staff(data["workspace"])
        tx = credits.grant(workspace.pk, data["amount"], reason=data["reason"],
                           expires_at=data.get("expires_at"), by=user,
                           reference=data.get("reference", ""))
        return Response(CreditTransactionSerializer(tx).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=TopupSerializer, responses={201: CreditTransactionSerializer},
                   summary="Add bought credits (staff)",
                   description="Staff with `billing.add_credittransaction`; `reference` is "
                               "the payment's id, so a replayed top-up adds once.")
    @action(detail=False, methods=["post"], permission_classes=[IsAuthenticated])
    def topup(self, request):
        user = _staff(request)
        body = TopupSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        workspace = _workspace_for_staff(data["workspace"])
        tx = credits.topup(workspace.pk, data["amount"], reference=data["reference"], by=user,
                           expires_at=data.get("expires_at"),
                           description=data.get("description", ""))
        return Response(CreditTransactionSerializer(tx).data, status=status.HTTP_201_CREATED)


router.register("billing/credits", CreditTransactionViewSet)

urlpatterns = []
