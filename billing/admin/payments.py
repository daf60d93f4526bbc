"""Back office of payments: each workspace's customer record and its payment methods
(provider tokens; card numbers are refused here as in the API).  Saving with the Stripe
provider creates the customer or attaches the token at Stripe (``billing.services
.payments``); a provider refusal is shown on the form and nothing is saved."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.shortcuts import redirect

from core.admin.base import BaseModelAdmin

from ..models import PaymentCustomer, PaymentMethod
from ..payments import PaymentError
from ..services import payments


class _ProviderSaveMixin:
    """Run the provider call inside the save's transaction: a refusal or outage rolls the
    save back and is shown as an error message (never a 500)."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            with transaction.atomic():
                return super().changeform_view(request, object_id, form_url, extra_context)
        except PaymentError as error:
            self.message_user(request, f"Not saved: {error.message}", level=messages.ERROR)
            return redirect(request.get_full_path())


@admin.register(PaymentCustomer)
class PaymentCustomerAdmin(_ProviderSaveMixin, BaseModelAdmin):
    list_display = ("name", "workspace", "email", "provider", "external_id", "country",
                    "tax_rate", "currency")
    list_filter = ("provider", "currency")
    search_fields = ("name", "email", "external_id", "tax_id")
    readonly_fields = ("external_id", "created_at", "updated_at")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        payments.customer_sync(obj)


class PaymentMethodForm(forms.ModelForm):
    class Meta:
        model = PaymentMethod
        fields = ["workspace", "customer", "provider", "external_id", "kind", "brand",
                  "last4", "exp_month", "exp_year", "is_default"]

    def clean(self):
        cleaned = super().clean()
        for name in payments.card_number_fields(dict(self.data.items())):
            field = name if name in self.fields else None
            self.add_error(field, payments.CARD_NUMBER_REFUSAL)
        return cleaned


@admin.register(PaymentMethod)
class PaymentMethodAdmin(_ProviderSaveMixin, BaseModelAdmin):
    form = PaymentMethodForm
    list_display = ("__str__", "workspace", "customer", "provider", "kind", "external_id",
                    "exp_month", "exp_year", "is_default")
    list_filter = ("provider", "kind", "is_default")
    search_fields = ("external_id", "brand", "last4")
    readonly_fields = ("created_at", "updated_at")

    def save_model(self, request, obj, form, change):
        if obj.is_default:
            PaymentMethod.objects.filter(customer=obj.customer, is_default=True).exclude(
                pk=obj.pk).update(is_default=False)
        if not change or "external_id" in form.changed_data:
            payments.method_attach(obj)
        super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        try:
            payments.method_detach(obj)
        except PaymentError as error:
            if error.code != "rejected":
                raise
        super().delete_model(request, obj)
