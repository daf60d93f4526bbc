"""Billing catalogue API: plans and their feature values (every signed-in caller reads
the offer; staff write), the feature list (from code), and the staff-only parts:
providers, plan mappings, coupons, issuing accounts, provider events; plus each
workspace's staff overrides and test clock (read; staff change them in the admin)."""

from __future__ import annotations

from django.db.models import Q

from core import tenancy
from core.api.permissions import ModelPermissions
from core.api.routers import router
from core.api.viewsets import (
    CatalogueViewSet,
    PublicReadModelViewSet,
    ReadOnlyModelViewSet,
    ScopedReadOnlyModelViewSet,
    StaffModelViewSet,
)

from .. import models as m
from . import serializers as s


def _offered_plans(request) -> Q:
    """What a client sees of the catalogue: active public plans and its own plans."""
    principal = tenancy.principal_for(request)
    if principal.sees_everything or (principal.user is not None and principal.user.is_staff
                                     and principal.user.has_perm("billing.view_plan")):
        return Q()
    own = tenancy.visible(m.Subscription.objects.all(), principal).values("plan_id")
    return Q(status=m.Plan.Status.ACTIVE, is_public=True) | Q(pk__in=own)


class PlanViewSet(PublicReadModelViewSet):
    """Plans: price per interval (minor units), trial days, status.  Clients see active
    public plans and the plans their workspaces subscribe to; staff manage them."""

    queryset = m.Plan.objects.all()
    serializer_class = s.PlanSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        return queryset.filter(_offered_plans(self.request))


class PlanFeatureViewSet(PublicReadModelViewSet):
    """A plan's value per feature: limit (empty: unlimited), included usage and the
    overage price (minor units per unit), or on/off for switches."""

    queryset = m.PlanFeature.objects.all()
    serializer_class = s.PlanFeatureSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        plans = m.Plan.objects.filter(_offered_plans(self.request)).values("pk")
        return queryset.filter(plan__in=plans)


class FeatureViewSet(CatalogueViewSet):
    """The features plans can grant (declared in code: billing.features)."""

    queryset = m.Feature.objects.all()
    serializer_class = s.FeatureSerializer


class PaymentProviderViewSet(StaffModelViewSet):
    """Payment providers (staff): `manual` or `stripe`; keys live in settings."""

    queryset = m.PaymentProvider.objects.all()
    serializer_class = s.PaymentProviderSerializer


class PlanProviderMappingViewSet(StaffModelViewSet):
    """A plan's product and price ids at a provider (staff)."""

    queryset = m.PlanProviderMapping.objects.all()
    serializer_class = s.PlanProviderMappingSerializer


class CouponViewSet(StaffModelViewSet):
    """Coupons (staff): percent or amount off, once / repeating / forever, limits."""

    queryset = m.Coupon.objects.all()
    serializer_class = s.CouponSerializer


class IssuingAccountViewSet(StaffModelViewSet):
    """The seller on invoices and its gapless number sequence (staff)."""

    queryset = m.IssuingAccount.objects.all()
    serializer_class = s.IssuingAccountSerializer


class EntitlementViewSet(ScopedReadOnlyModelViewSet):
    """Staff overrides of a workspace's plan values (read; staff change them in the admin)."""

    queryset = m.Entitlement.objects.all()
    serializer_class = s.EntitlementSerializer


class TestClockViewSet(ScopedReadOnlyModelViewSet):
    """A workspace's simulated billing time (read; staff advance it)."""

    queryset = m.TestClock.objects.all()
    serializer_class = s.TestClockSerializer


class BillingEventViewSet(ReadOnlyModelViewSet):
    """Payment provider webhook events as received and applied (staff)."""

    queryset = m.BillingEvent.objects.all()
    serializer_class = s.BillingEventSerializer
    permission_classes = [ModelPermissions]


router.register("billing/plans", PlanViewSet)
router.register("billing/plan-features", PlanFeatureViewSet)
router.register("billing/features", FeatureViewSet)
router.register("billing/providers", PaymentProviderViewSet)
router.register("billing/plan-mappings", PlanProviderMappingViewSet)
router.register("billing/coupons", CouponViewSet)
router.register("billing/issuers", IssuingAccountViewSet)
router.register("billing/entitlement-overrides", EntitlementViewSet)
router.register("billing/test-clocks", TestClockViewSet)
router.register("billing/events", BillingEventViewSet)

urlpatterns: list = []
