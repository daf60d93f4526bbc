"""Payments API: the workspace's customer record and payment methods (admin role), and
the Stripe webhook endpoint.

Payment methods are provider tokens only (``pm_…`` from Stripe.js): a request carrying
anything that looks like a card number (13 to 19 digits, spaces or dashes allowed), in
any field, is refused with a 400 before anything is stored or sent.  Creating a customer
or method with a charging provider (Stripe) creates or attaches it at the provider in the
same transaction: a provider refusal or outage answers a structured 4xx/503 and nothing
is stored.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.routers import router
from core.api.serializers import BaseModelSerializer
from core.api.viewsets import ScopedModelViewSet

from ..models import PaymentCustomer, PaymentMethod, PaymentProvider
from ..payments import PaymentError, webhooks
from ..services import payments

_TIMESTAMPS = ["created_at", "updated_at"]
#: What Stripe's tokens look like (pm_…, and the legacy card_/src_/ba_ ids).
STRIPE_TOKEN = re.compile(r"^(pm|card|src|ba)_[A-Za-z0-9_]{3,}$")
REFUSAL = payments.CARD_NUMBER_REFUSAL


def _provider_error(error: PaymentError):
    return error.as_api_error()


# --- customers ----------------------------------------------------------------------------


class PaymentCustomerSerializer(BaseModelSerializer):
    class Meta:
        model = PaymentCustomer
        fields = ["id", "workspace", "provider", "external_id", "name", "email", "address",
                  "country", "tax_id", "tax_rate", "currency", "metadata", *_TIMESTAMPS]
        read_only_fields = ["external_id", *_TIMESTAMPS]
        extra_kwargs = {"provider": {"help_text": "Where this customer pays (empty: the "
                                                  "default provider; manual: bank transfer)."}}


class PaymentCustomerViewSet(ScopedModelViewSet):
    """The workspace as a paying customer (one per workspace): invoice name, billing
    email, address, tax id and rate.  Workspace admins and owners manage it; with the
    Stripe provider the customer is created at Stripe too (`external_id`)."""

    queryset = PaymentCustomer.objects.all()
    serializer_class = PaymentCustomerSerializer
    select_related = ("provider",)

    def perform_scoped_create(self, serializer):
        self._sync(serializer.save())

    def perform_update(self, serializer):
        with transaction.atomic():
            self._sync(serializer.save())

    @staticmethod
    def _sync(customer: PaymentCustomer) -> None:
        try:
            payments.customer_sync(customer)
        except PaymentError as error:
            raise _provider_error(error) from None


# --- payment methods -----------------------------------------------------------------------


class PaymentMethodSerializer(BaseModelSerializer):
    class Meta:
        model = PaymentMethod
        fields = ["id", "workspace", "customer", "provider", "external_id", "kind", "brand",
                  "last4", "exp_month", "exp_year", "is_default", *_TIMESTAMPS]
        read_only_fields = _TIMESTAMPS
        extra_kwargs = {"external_id": {"help_text": "The provider's token, e.g. pm_… from "
                                                     "Stripe.js. Never a card number."}}

    def get_validators(self):
        # "One default per customer" is kept by the view (a new default replaces the old
        # one), not refused.
        return [v for v in super().get_validators()
                if tuple(getattr(v, "fields", ())) != ("customer",)]

    def to_internal_value(self, data):
        flagged = payments.card_number_fields(data if isinstance(data, dict) else {})
        if flagged:
            raise serializers.ValidationError({name: [REFUSAL] for name in flagged})
        return super().to_internal_value(data)

    def validate_last4(self, value: str) -> str:
        if value and not re.fullmatch(r"\d{4}", value):
            raise serializers.ValidationError("Four digits, or empty.")
        return value

    def validate(self, attrs):
        # The model's checks run without ``is_default``: a new default replaces the
        # customer's old one (the view unsets it in the same transaction).
        is_default = attrs.pop("is_default", None)
        attrs = super().validate(attrs)
        if is_default is not None:
            attrs["is_default"] = is_default
        provider = attrs.get("provider") or getattr(self.instance, "provider", None)
        token = attrs.get("external_id", getattr(self.instance, "external_id", ""))
        if provider is not None and provider.kind == PaymentProvider.Kind.STRIPE and \
                not STRIPE_TOKEN.match(token or ""):
            raise serializers.ValidationError(
                {"external_id": ["A Stripe payment method token is expected (pm_…)."]})
        return attrs


class PaymentMethodViewSet(ScopedModelViewSet):
    """Ways the workspace pays, as provider tokens: attach a `pm_…` token from Stripe.js
    (the brand, last 4 digits and expiry are copied from Stripe); one default per
    customer.  Card numbers are refused.  Workspace admins and owners manage them."""

    queryset = PaymentMethod.objects.all()
    serializer_class = PaymentMethodSerializer
    select_related = ("provider",)

    def perform_scoped_create(self, serializer):
        self._one_default(serializer.validated_data.get("customer"),
                          serializer.validated_data.get("is_default"))
        method = serializer.save()
        self._attach(method)

    def perform_update(self, serializer):
        with transaction.atomic():
            customer = serializer.validated_data.get("customer", serializer.instance.customer)
            self._one_default(customer, serializer.validated_data.get("is_default"),
                              keep=serializer.instance.pk)
            token_changed = ("external_id" in serializer.validated_data and
                             serializer.validated_data["external_id"] !=
                             serializer.instance.external_id)
            method = serializer.save()
            if token_changed:
                self._attach(method)

    def perform_destroy(self, instance):
        with transaction.atomic():
            try:
                payments.method_detach(instance)
            except PaymentError as error:
                if error.code != "rejected":  # already gone at the provider: fine
                    raise _provider_error(error) from None
            instance.delete()

    @staticmethod
    def _one_default(customer, is_default, keep=None) -> None:
        if customer is not None and is_default:
            PaymentMethod.objects.filter(customer=customer, is_default=True).exclude(
                pk=keep).update(is_default=False)

    @staticmethod
    def _attach(method: PaymentMethod) -> None:
        try:
            payments.method_attach(method)
        except PaymentError as error:
            raise _provider_error(error) from None
        method.save(update_fields=["external_id", "kind", "brand", "last4", "exp_month",
                                   "exp_year", "updated_at"])


# --- the Stripe webhook ------------------------------------------------------------------------


WebhookAnswer = inline_serializer("BillingWebhookAnswer", {
    "received": serializers.BooleanField(),
    "event": serializers.CharField(),
    "status": serializers.CharField(),
    "duplicate": serializers.BooleanField(),
})


class StripeWebhookView(APIView):
    """Stripe's events (`payment_intent.succeeded`, `payment_intent.payment_failed`),
    signed with `Stripe-Signature`.  No sign-in: the signature is the authentication."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: WebhookAnswer}, auth=[],
                   summary="Receive a Stripe event",
                   description="The `Stripe-Signature` header is verified with the webhook "
                               "secret: a bad signature is a 400 and changes nothing. Each "
                               "event is applied once: a repeated delivery answers 200 with "
                               "`duplicate: true`.")
    def post(self, request):
        outcome = webhooks.receive_stripe(request.body,
                                          request.headers.get("Stripe-Signature", ""))
        return Response(outcome.body())


router.register("billing/customers", PaymentCustomerViewSet)
router.register("billing/payment-methods", PaymentMethodViewSet)

urlpatterns = [path("billing/webhooks/stripe/", StripeWebhookView.as_view(),
                    name="billing-webhook-stripe")]
