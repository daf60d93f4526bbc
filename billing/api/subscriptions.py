"""Subscriptions API: list and read a workspace's subscriptions, subscribe (create), and
change plan, cancel, pause, resume or redeem a coupon (owner or admin; staff always).
Plus the staff door of the test clock: ``POST billing/test-clocks/<id>/advance/``.

Thin over ``billing.services.subscriptions`` / ``.clock``: every rule and every refusal
(structured ``ApiError``) comes from there, the same as in the admin.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, serializers
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from core import tenancy
from core.api.errors import ApiError
from core.api.permissions import TenantPermission
from core.api.routers import router
from core.api.schema import ErrorSerializer
from core.api.serializers import BaseModelSerializer
from core.api.viewsets import ScopedGenericViewSet
from core.context import request_user

from .. import models as m
from ..services import clock as clock_service
from ..services import subscriptions as services
from .serializers import TestClockSerializer

_TIMESTAMPS = ["created_at", "updated_at"]


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


class SubscriptionSerializer(BaseModelSerializer):
    """A subscription as clients see it; on create only ``workspace``, ``plan`` and an
    optional ``coupon_code`` are read (the rest is the service's to set)."""

    coupon_code = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=40,
        help_text="A coupon to redeem on subscribing (optional).")

    class Meta:
        model = m.Subscription
        fields = ["id", "workspace", "plan", "status", "started_at", "current_period_start",
                  "current_period_end", "trial_end", "cancel_at_period_end", "cancelled_at",
                  "ended_at", "paused_at", "past_due_since", "coupon", "coupon_periods_used",
                  "created_by", "metadata", "coupon_code", *_TIMESTAMPS]
        read_only_fields = ["status", "started_at", "current_period_start",
                            "current_period_end", "trial_end", "cancel_at_period_end",
                            "cancelled_at", "ended_at", "paused_at", "past_due_since",
                            "coupon", "coupon_periods_used", "created_by", "metadata",
                            *_TIMESTAMPS]
        # One live subscription per workspace is the service's 409 subscription_exists
        # (with the reason), not a generic uniqueness 400.
        validators = []

    def validate(self, attrs):
        code = attrs.pop("coupon_code", "")
        attrs = super().validate(attrs)
        attrs["coupon_code"] = code
        return attrs


class ChangePlanSerializer(serializers.Serializer):
    plan = serializers.PrimaryKeyRelatedField(queryset=m.Plan.objects.all(),
                                              help_text="The plan to move to.")
    prorate = serializers.BooleanField(
        default=True, help_text="Credit the old plan's unused days and charge the new "
        "plan's (pending lines on the next invoice).")


class CancelSerializer(serializers.Serializer):
    at_period_end = serializers.BooleanField(
        default=True, help_text="End when the current period ends (default), or at once.")


class RedeemCouponSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=40, help_text="The coupon's code.")


class AdvanceClockSerializer(serializers.Serializer):
    to = serializers.DateTimeField(help_text="The simulated time to move to (forward only).")


class AdvanceClockResultSerializer(serializers.Serializer):
    clock = TestClockSerializer()
    subscriptions_advanced = serializers.IntegerField(
        help_text="Subscription moves made (trial ends, renewals, ends), summed over passes.")
    passes = serializers.IntegerField()
    notes = serializers.ListField(child=serializers.CharField())


class SubscriptionPermission(TenantPermission):
    """Writes need the model's role (owner or admin) in the row's workspace; billing staff
    (``billing.change_subscription``) pass on the rows they can see."""

    def has_object_permission(self, request, view, obj) -> bool:
        if services.is_billing_staff(request_user(request)):
            return True
        return super().has_object_permission(request, view, obj)


_WRITE_ERRORS = {
    400: _error("Invalid input: unknown or archived plan, another currency or interval, "
                "an invalid coupon (coupon_not_found, coupon_expired, coupon_not_for_plan, "
                "coupon_currency…)."),
    402: _error("limit_reached: the workspace uses more than the plan allows."),
    403: _error("Only the workspace's owner or admins (or billing staff) may do this."),
    404: _error("No such subscription in your workspaces."),
    409: _error("invalid_state (e.g. pausing a trial, resuming an active subscription), "
                "subscription_exists, coupon_exhausted or coupon_already_applied."),
}


class SubscriptionViewSet(ScopedGenericViewSet, mixins.ListModelMixin,
                          mixins.RetrieveModelMixin, mixins.CreateModelMixin):
    """A workspace's subscriptions (one live at a time).  Creating one subscribes the
    workspace to a plan (a trial first when the plan has one)."""

    queryset = m.Subscription.objects.all()
    serializer_class = SubscriptionSerializer
    permission_classes = [SubscriptionPermission]

    def perform_scoped_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.subscribe(
            workspace=data["workspace"], plan=data["plan"],
            coupon_code=data.get("coupon_code", ""), by=request_user(self.request),
            principal=tenancy.principal_for(self.request))

    @extend_schema(summary="Subscribe a workspace to a plan",
                   responses={201: SubscriptionSerializer, **_WRITE_ERRORS})
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    def _act(self, request, body_class, service, **fixed):
        sub = self.get_object()
        kwargs = dict(fixed)
        if body_class is not None:
            body = body_class(data=request.data)
            body.is_valid(raise_exception=True)
            kwargs.update(body.validated_data)
        sub = service(sub, by=request_user(request),
                      principal=tenancy.principal_for(request), **kwargs)
        return Response(self.get_serializer(sub).data)

    @extend_schema(summary="Change plan now (day-based proration)",
                   request=ChangePlanSerializer,
                   responses={200: SubscriptionSerializer, **_WRITE_ERRORS})
    @action(detail=True, methods=["post"], url_path="change-plan", url_name="change_plan")
    def change_plan(self, request, pk=None):
        sub = self.get_object()
        body = ChangePlanSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        sub = services.change_plan(sub, body.validated_data["plan"],
                                   prorate=body.validated_data["prorate"],
                                   by=request_user(request),
                                   principal=tenancy.principal_for(request))
        return Response(self.get_serializer(sub).data)

    @extend_schema(summary="Cancel at period end (default) or at once",
                   request=CancelSerializer,
                   responses={200: SubscriptionSerializer, **_WRITE_ERRORS})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._act(request, CancelSerializer, services.cancel)

    @extend_schema(summary="Pause: no renewal and no invoice until resumed", request=None,
                   responses={200: SubscriptionSerializer, **_WRITE_ERRORS})
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._act(request, None, services.pause)

    @extend_schema(summary="Resume a paused subscription", request=None,
                   responses={200: SubscriptionSerializer, **_WRITE_ERRORS})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._act(request, None, services.resume)

    @extend_schema(summary="Redeem a coupon on this subscription",
                   request=RedeemCouponSerializer,
                   responses={200: SubscriptionSerializer, **_WRITE_ERRORS})
    @action(detail=True, methods=["post"], url_path="redeem-coupon", url_name="redeem_coupon")
    def redeem_coupon(self, request, pk=None):
        sub = self.get_object()
        body = RedeemCouponSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        sub = services.redeem_coupon(sub, body.validated_data["code"],
                                     by=request_user(request),
                                     principal=tenancy.principal_for(request))
        return Response(self.get_serializer(sub).data)


class AdvanceTestClockView(APIView):
    """Staff: move a workspace's test clock forward and run its billing up to then."""

    permission_classes = [permissions.IsAuthenticated]
    queryset = m.TestClock.objects.all()

    @extend_schema(
        operation_id="billing_test_clocks_advance",
        tags=["billing"],
        summary="Advance a test clock (staff)",
        description="Sets the clock to `to`, then processes every trial end, period end "
                    "(invoice, renewal) and end due by then for the clock's workspace, "
                    "period by period, then dunning.",
        request=AdvanceClockSerializer,
        responses={200: AdvanceClockResultSerializer,
                   400: _error("`to` missing, malformed, or before the clock's time "
                               "(clock_backwards)."),
                   403: _error("staff_only: needs staff with billing.change_testclock."),
                   404: _error("No such test clock in your reach.")},
    )
    def post(self, request, pk: int):
        principal = tenancy.principal_for(request)
        clock = tenancy.visible(self.queryset.all(), principal).filter(pk=pk) \
            .select_related("workspace").first()
        if clock is None:
            raise ApiError(404, "not_found", "No test clock matches that id.")
        if not services.is_billing_staff(request_user(request), "billing.change_testclock"):
            raise ApiError(403, "staff_only", "Only staff may move a test clock.")
        body = AdvanceClockSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = clock_service.advance_clock(clock.workspace, body.validated_data["to"],
                                             by=request_user(request))
        return Response(AdvanceClockResultSerializer({
            "clock": result.clock, "subscriptions_advanced": result.subscriptions_advanced,
            "passes": result.passes, "notes": result.notes}).data)


router.register("billing/subscriptions", SubscriptionViewSet)

urlpatterns = [
    path("billing/test-clocks/<int:pk>/advance/", AdvanceTestClockView.as_view(),
         name="billing-testclock-advance"),
]
