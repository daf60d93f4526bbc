"""Invoices API: a workspace's invoices and their lines (read), the PDF, the preview of
the next invoice (owner/admin or staff), and staff decisions: void, mark paid, mark
uncollectible.

Thin over ``billing.services.invoices`` and ``billing.invoicing.previews``: the rules
and every refusal (structured ``ApiError``: 403 staff only, 409 ``invalid_state``)
come from there, the same as in the admin.  Other tenants' invoices answer 404.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from core import tenancy
from core.api.errors import ApiError
from core.api.permissions import TenantPermission
from core.api.routers import router
from core.api.schema import ErrorSerializer
from core.api.serializers import BaseModelSerializer
from core.api.viewsets import ScopedReadOnlyModelViewSet
from core.context import request_user
from core.downloads import content_disposition

from .. import models as m
from ..invoicing.previews import preview
from ..services import invoices as services

PDF_TYPE = "application/pdf"
_TIMESTAMPS = ["created_at", "updated_at"]


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


class InvoiceSerializer(BaseModelSerializer):
    class Meta:
        model = m.Invoice
        fields = ["id", "workspace", "subscription", "customer", "issuer", "number",
                  "sequence", "status", "currency", "period_start", "period_end", "subtotal",
                  "discount", "tax_rate", "tax", "total", "credits_applied", "amount_due",
                  "amount_paid", "issued_at", "due_at", "paid_at", "voided_at",
                  "payment_attempts", "next_payment_attempt", "last_payment_error",
                  "external_id", "memo", "metadata", *_TIMESTAMPS]
        read_only_fields = fields


class InvoiceLineSerializer(BaseModelSerializer):
    class Meta:
        model = m.InvoiceLine
        fields = ["id", "workspace", "invoice", "subscription", "kind", "description",
                  "metric", "quantity", "unit_amount", "amount", "currency", "period_start",
                  "period_end", "metadata", *_TIMESTAMPS]
        read_only_fields = fields


class MarkPaidSerializer(serializers.Serializer):
    amount = serializers.IntegerField(
        required=False, min_value=1, max_value=2**62,
        help_text="Minor units received; default: everything still due. Less leaves the "
                  "invoice open with the part recorded.")
    reference = serializers.CharField(required=False, allow_blank=True, max_length=120,
                                      help_text="The transfer's reference, for the record.")


class PreviewRequestSerializer(serializers.Serializer):
    workspace = serializers.IntegerField(min_value=1, max_value=2**62,
                                         help_text="The workspace whose next invoice to show.")


class PreviewLineSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=m.InvoiceLine.Kind.choices)
    description = serializers.CharField()
    metric = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=20, decimal_places=6)
    unit_amount = serializers.DecimalField(max_digits=20, decimal_places=6)
    amount = serializers.IntegerField(help_text="Minor units, signed.")
    pending = serializers.BooleanField(help_text="A pending line (e.g. a proration) this "
                                                 "invoice will take.")


class PreviewSerializer(serializers.Serializer):
    """The next invoice as it stands: nothing is saved and no number is taken."""

    subscription = serializers.IntegerField()
    workspace = serializers.IntegerField()
    plan = serializers.CharField()
    currency = serializers.CharField()
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    as_of = serializers.DateTimeField()
    lines = PreviewLineSerializer(many=True)
    subtotal = serializers.IntegerField()
    discount = serializers.IntegerField()
    coupon = serializers.CharField(allow_null=True)
    tax_rate = serializers.DecimalField(max_digits=6, decimal_places=3)
    tax = serializers.IntegerField()
    total = serializers.IntegerField()
    credits_applied = serializers.IntegerField(help_text="Estimate from the balance now.")
    amount_due = serializers.IntegerField()
    carried_to_next = serializers.IntegerField(help_text="A negative balance carried to "
                                                         "the following invoice.")


class InvoicePermission(TenantPermission):
    """Reads as any scoped resource; the staff actions are decided by the service
    (staff with ``billing.change_invoice``), whatever the caller's workspace role."""

    def has_object_permission(self, request, view, obj) -> bool:
        if view.action in InvoiceViewSet.STAFF_ACTIONS:
            return True
        return super().has_object_permission(request, view, obj)


_STAFF_ERRORS = {
    403: _error("permission_denied: only staff with billing.change_invoice."),
    404: _error("No such invoice in your workspaces."),
    409: _error("invalid_state: the invoice's status does not allow this."),
}


class InvoiceViewSet(ScopedReadOnlyModelViewSet):
    # Action URL names without dashes: the registry reads a resource's basename as the
    # URL name up to its last dash (billing-invoice-mark_paid -> billing-invoice).
    """A workspace's invoices, newest first: one per subscription period, numbered
    without gaps per issuing account when finalised.  Amounts are integer minor units."""

    queryset = m.Invoice.objects.all()
    serializer_class = InvoiceSerializer
    permission_classes = [InvoicePermission]
    STAFF_ACTIONS = ("void", "mark_paid", "mark_uncollectible")

    def perform_content_negotiation(self, request, force=False):
        # The PDF is a PDF whatever Accept says; its errors are JSON.
        return super().perform_content_negotiation(request, force=force or
                                                   self.action == "pdf")

    @extend_schema(responses={(200, PDF_TYPE): OpenApiTypes.BINARY,
                              404: _error("No such invoice in your workspaces.")},
                   summary="The invoice as a PDF",
                   description="Issuer, customer, number, dates, lines, totals, tax and "
                               "payment instructions.")
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        invoice = self.get_object()
        response = HttpResponse(services.pdf_bytes(invoice), content_type=PDF_TYPE)
        response["Content-Disposition"] = content_disposition(services.pdf_filename(invoice))
        return response

    def _done(self, invoice):
        return Response(self.get_serializer(invoice).data)

    @extend_schema(request=None, responses={200: InvoiceSerializer, **_STAFF_ERRORS},
                   summary="Void (staff): nothing is owed",
                   description="Draft, open or uncollectible invoices. The period may be "
                               "invoiced again: pending lines, a coupon period and credits "
                               "the invoice took are given back.")
    @action(detail=True, methods=["post"])
    def void(self, request, pk=None):
        return self._done(services.void(self.get_object(), request_user(request)))

    @extend_schema(request=MarkPaidSerializer,
                   responses={200: InvoiceSerializer,
                              400: _error("An amount outside 1 .. what is still due."),
                              **_STAFF_ERRORS},
                   summary="Mark paid (staff): a transfer received",
                   description="Open or uncollectible invoices.")
    @action(detail=True, methods=["post"], url_path="mark-paid", url_name="mark_paid")
    def mark_paid(self, request, pk=None):
        invoice = self.get_object()
        body = MarkPaidSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._done(services.mark_paid(invoice, request_user(request),
                                             amount=body.validated_data.get("amount"),
                                             reference=body.validated_data.get("reference",
                                                                               "")))

    @extend_schema(request=None, responses={200: InvoiceSerializer, **_STAFF_ERRORS},
                   summary="Mark uncollectible (staff): written off, no longer chased",
                   description="Open invoices; a later payment still marks it paid.")
    @action(detail=True, methods=["post"], url_path="mark-uncollectible",
            url_name="mark_uncollectible")
    def mark_uncollectible(self, request, pk=None):
        return self._done(services.mark_uncollectible(self.get_object(),
                                                      request_user(request)))

    @extend_schema(request=PreviewRequestSerializer,
                   responses={200: PreviewSerializer,
                              400: _error("workspace missing, malformed or not yours."),
                              403: _error("Only the workspace's owner or admins (or "
                                          "staff) may preview its invoice."),
                              404: _error("no_subscription: the workspace has no live "
                                          "subscription.")},
                   summary="Preview the next invoice (dry run, nothing saved)",
                   description="The current period's fee, pending prorations, usage above "
                               "the included amounts so far, coupon, tax and an estimate "
                               "of the credits applied.")
    @action(detail=False, methods=["post"])
    def preview(self, request):
        body = PreviewRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        workspace = _workspace_for_preview(request, body.validated_data["workspace"])
        sub = (m.Subscription.objects.filter(workspace=workspace,
                                             status__in=m.Subscription.LIVE).first())
        if sub is None:
            raise ApiError(404, "no_subscription", "This workspace has no live subscription: "
                                                   "there is no next invoice to preview.")
        return Response(PreviewSerializer(preview(sub)).data)


def _workspace_for_preview(request, pk: int):
    """The workspace if the caller may see its billing: owner/admin there, or staff who
    may view invoices.  A workspace out of reach is "no such workspace" (400)."""
    model = apps.get_model(settings.TENANCY_WORKSPACE_MODEL)
    principal = tenancy.principal_for(request)
    user = request_user(request)
    staff = bool(user is not None and user.is_staff and user.has_perm("billing.view_invoice"))
    workspace = model._default_manager.filter(pk=pk).first()
    visible = workspace is not None and (
        staff or tenancy.can_in_workspace(principal, workspace, m.Invoice, "view"))
    if not visible:
        raise ApiError(400, "invalid", "Invalid input.",
                       errors={"workspace": [f'Invalid pk "{pk}" - object does not exist.']})
    if not staff and not tenancy.can_in_workspace(principal, workspace, m.Subscription,
                                                  "change"):
        raise ApiError(403, "permission_denied", "Only the workspace's owner or admins may "
                                                 "preview its invoice.")
    return workspace


class InvoiceLineViewSet(ScopedReadOnlyModelViewSet):
    """Lines of invoices (``invoice`` empty: pending, e.g. a proration the next invoice
    takes).  Amounts are signed minor units."""

    queryset = m.InvoiceLine.objects.all()
    serializer_class = InvoiceLineSerializer


router.register("billing/invoice-lines", InvoiceLineViewSet)
router.register("billing/invoices", InvoiceViewSet)

urlpatterns: list = []
