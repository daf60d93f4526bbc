"""Invoices in the back office: read-only pages with their lines, the PDF, and the staff
decisions (void, mark paid, mark uncollectible) through ``billing.services.invoices``,
from the invoice's page (a confirmation page each) and as changelist actions.  A refusal
(wrong state, missing permission) is a message, never a 500."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django_fsm import can_proceed

from core.admin.base import BaseModelAdmin, ReadOnlyModelAdmin
from core.admin.display import AMBER, GREEN, GREY, RED, status_badge
from core.api.errors import ApiError
from core.downloads import content_disposition

from ..models import Invoice, InvoiceLine
from ..money import format_money
from ..services import invoices as services

COLOURS = {"draft": GREY, "open": AMBER, "paid": GREEN, "void": GREY, "uncollectible": RED}
_FIELDS = ("number", "workspace", "status", "subscription", "customer", "issuer", "currency",
           "period_start", "period_end", "subtotal", "discount", "tax_rate", "tax", "total",
           "credits_applied", "amount_due", "amount_paid", "issued_at", "due_at", "paid_at",
           "voided_at", "payment_attempts", "next_payment_attempt", "last_payment_error",
           "external_id", "sequence", "memo", "metadata", "created_at", "updated_at")
#: object page name (also the service and the transition) -> (route, button label, what the
#: message says was done, what the confirmation page explains)
_ACTIONS = {
    "mark_paid": ("mark-paid/", "Mark paid", "marked paid",
                  "Record that the amount still due was received (a bank transfer, say). "
                  "The invoice becomes paid."),
    "mark_uncollectible": ("mark-uncollectible/", "Mark uncollectible", "marked uncollectible",
                           "Write the invoice off: it is no longer chased, and a later "
                           "payment still marks it paid."),
    "void": ("void/", "Void", "voided",
             "Cancel the invoice: nothing is owed. Its period may be invoiced again: the "
             "pending lines, coupon period and credits it took are given back."),
}


def refusal_text(exc: Exception) -> str:
    if isinstance(exc, ApiError):
        return str(exc.message)
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    fields = ("kind", "description", "metric", "quantity", "unit_amount", "money")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="amount")
    def money(self, line):
        return format_money(line.amount, line.currency)


@admin.register(Invoice)
class InvoiceAdmin(BaseModelAdmin):
    list_display = ("__str__", "workspace", "status_badge", "total_money", "amount_due_money",
                    "issued_at", "due_at")
    list_select_related = ("workspace",)
    list_filter = ("status", "issuer", ("issued_at", admin.DateFieldListFilter))
    search_fields = ("number", "workspace__name", "=external_id")
    inlines = (InvoiceLineInline,)
    readonly_fields = (*_FIELDS, "status_badge", "pdf_link", "staff_actions")
    fieldsets = (
        (None, {"fields": ("number", "workspace", "status_badge", "subscription", "customer",
                           "issuer", "pdf_link", "staff_actions")}),
        ("Amounts (minor units)", {"fields": ("currency", "subtotal", "discount", "tax_rate",
                                              "tax", "total", "credits_applied", "amount_due",
                                              "amount_paid")}),
        ("Dates", {"fields": ("period_start", "period_end", "issued_at", "due_at", "paid_at",
                              "voided_at")}),
        ("Collection", {"fields": ("payment_attempts", "next_payment_attempt",
                                   "last_payment_error", "external_id", "sequence")}),
        ("Notes", {"fields": ("memo", "metadata", "created_at", "updated_at")}),
    )
    object_pages = {"pdf": ("pdf/", "pdf_view"),
                    **{name: (route, f"{name}_view") for name, (route, *_rest)
                       in _ACTIONS.items()}}
    actions = ("void_selected", "mark_paid_selected", "mark_uncollectible_selected")

    # Invoices change only through the services (generation, the actions below).
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_manage_permission(self, request) -> bool:
        return services.may_manage(request.user)

    @admin.display(description="status", ordering="status")
    def status_badge(self, invoice):
        return status_badge(invoice.status, invoice.get_status_display(), COLOURS)

    @admin.display(description="total", ordering="total")
    def total_money(self, invoice):
        return format_money(invoice.total, invoice.currency)

    @admin.display(description="amount due", ordering="amount_due")
    def amount_due_money(self, invoice):
        return format_money(invoice.amount_due, invoice.currency)

    @admin.display(description="PDF")
    def pdf_link(self, invoice):
        if invoice.pk is None:
            return "-"
        return format_html('<a href="{}">Download {}</a>',
                           reverse("admin:billing_invoice_pdf", args=[invoice.pk]),
                           services.pdf_filename(invoice))

    @admin.display(description="staff actions")
    def staff_actions(self, invoice):
        """Links to the confirmation pages of the decisions the state allows."""
        if invoice.pk is None:
            return "-"
        links = [(reverse(f"admin:billing_invoice_{name}", args=[invoice.pk]), label)
                 for name, (_route, label, _done, _text) in _ACTIONS.items()
                 if can_proceed(getattr(invoice, name))]
        if not links:
            return "None in this state."
        return format_html_join(" ", '<a class="button" href="{}">{}</a>', links)

    # --- object pages -------------------------------------------------------------------

    def pdf_view(self, request, object_id):
        invoice = self.get_object_or_404(request, object_id)
        response = HttpResponse(services.pdf_bytes(invoice), content_type="application/pdf")
        response["Content-Disposition"] = content_disposition(services.pdf_filename(invoice))
        return response

    def _act(self, request, object_id, name: str):
        """GET: the confirmation page; POST: the decision, through the service."""
        invoice = self.get_object_or_404(request, object_id)
        _route, label, done, text = _ACTIONS[name]
        if request.method != "POST":
            allowed = can_proceed(getattr(invoice, name))
            context = {**self.admin_site.each_context(request), "opts": self.opts,
                       "original": invoice, "title": f"{label}: invoice {invoice}",
                       "action": label, "allowed": allowed, "reference": name == "mark_paid",
                       "text": text if allowed else
                       f"This invoice is {invoice.get_status_display().lower()}: it cannot "
                       f"be {done}."}
            return TemplateResponse(request, "admin/billing/invoice/action.html", context)
        ok = self._apply(request, invoice, name)
        if ok is not None:
            self.message_user(request, f"Invoice {ok} {done}.", messages.SUCCESS)
        return redirect("admin:billing_invoice_change", invoice.pk)

    def _apply(self, request, invoice, name: str):
        kwargs = {}
        if name == "mark_paid":
            kwargs["reference"] = request.POST.get("payment_reference", "")[:120]
        try:
            with transaction.atomic():
                return getattr(services, name)(invoice, request.user, **kwargs)
        except (ApiError, ValidationError) as exc:
            self.message_user(request, f"Invoice {invoice}: {refusal_text(exc)}",
                              messages.ERROR)
        return None

    def void_view(self, request, object_id):
        return self._act(request, object_id, "void")

    def mark_paid_view(self, request, object_id):
        return self._act(request, object_id, "mark_paid")

    def mark_uncollectible_view(self, request, object_id):
        return self._act(request, object_id, "mark_uncollectible")

    # --- changelist actions -------------------------------------------------------------

    def _bulk(self, request, queryset, name: str) -> None:
        done = [str(ok) for invoice in queryset
                if (ok := self._apply(request, invoice, name)) is not None]
        if done:
            self.message_user(request, f"{_ACTIONS[name][2].capitalize()}: {', '.join(done)}.",
                              messages.SUCCESS)

    @admin.action(description="Void selected invoices", permissions=["manage"])
    def void_selected(self, request, queryset):
        self._bulk(request, queryset, "void")

    @admin.action(description="Mark selected invoices paid", permissions=["manage"])
    def mark_paid_selected(self, request, queryset):
        self._bulk(request, queryset, "mark_paid")

    @admin.action(description="Mark selected invoices uncollectible", permissions=["manage"])
    def mark_uncollectible_selected(self, request, queryset):
        self._bulk(request, queryset, "mark_uncollectible")


@admin.register(InvoiceLine)
class InvoiceLineAdmin(ReadOnlyModelAdmin):
    list_display = ("description", "kind", "money", "invoice", "workspace", "period_start")
    list_select_related = ("invoice", "workspace")
    list_filter = ("kind",)
    search_fields = ("description", "invoice__number", "metric")

    @admin.display(description="amount", ordering="amount")
    def money(self, line):
        return format_money(line.amount, line.currency)
