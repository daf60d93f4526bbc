"""Back office of the credits ledger: every movement, read-only (append-only), with the
running balance it left; and the staff page that grants or tops up credits (through
``billing.services.credits``, like the API)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template import engines
from django.urls import path, reverse
from django.utils.html import format_html

from core.admin.base import ReadOnlyModelAdmin
from core.api.errors import ApiError

from ..models import CreditTransaction
from ..services import credits

STAFF_PERMISSION = "billing.add_credittransaction"

_PAGE = engines["django"].from_string("""{% extends "admin/base_site.html" %}
{% block breadcrumbs %}<div class="breadcrumbs">
<a href="{% url 'admin:index' %}">Home</a> &rsaquo;
<a href="{{ changelist }}">{{ opts.verbose_name_plural|capfirst }}</a> &rsaquo; {{ title }}
</div>{% endblock %}
{% block content %}<div id="content-main">
<p>{{ text }}</p>
{% if balance is not None %}
<p>Current balance of workspace {{ workspace }}: <strong>{{ balance }}</strong> credits.</p>
{% endif %}
<form method="post">{% csrf_token %}
{% if form.non_field_errors %}<ul class="errorlist">
{% for e in form.non_field_errors %}<li>{{ e }}</li>{% endfor %}</ul>{% endif %}
<fieldset class="module aligned">{% for field in form %}
<div class="form-row">{{ field.errors }}{{ field.label_tag }} {{ field }}
{% if field.help_text %}<div class="help">{{ field.help_text }}</div>{% endif %}</div>
{% endfor %}</fieldset>
<div class="submit-row"><input type="submit" class="default" value="Add credits"></div>
</form></div>{% endblock %}""")


class GrantForm(forms.Form):
    KINDS = (("grant", "Grant (free credits)"), ("topup", "Top-up (paid credits)"))

    workspace = forms.IntegerField(min_value=1, label="Workspace id")
    kind = forms.ChoiceField(choices=KINDS, initial="grant")
    amount = forms.DecimalField(max_digits=18, decimal_places=4, min_value=0)
    reason = forms.CharField(max_length=300, help_text="Shown in the ledger (grants need one).")
    expires_at = forms.DateTimeField(required=False, help_text="Optional: the unused part "
                                     "expires then (YYYY-MM-DD HH:MM).")
    reference = forms.CharField(max_length=120, required=False,
                                help_text="Idempotency key: top-ups need the payment's id; "
                                          "the same reference adds once.")

    def clean_workspace(self):
        from workspaces.models import Workspace

        value = self.cleaned_data["workspace"]
        if not Workspace.objects.filter(pk=value).exists():
            raise forms.ValidationError(f"No workspace {value}.")
        return value


@admin.register(CreditTransaction)
class CreditTransactionAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "created_at", "workspace", "kind", "signed_amount", "running_balance",
                    "remaining", "expires_at", "reference", "description")
    list_filter = ("kind",)
    search_fields = ("reference", "description", "source_id")
    actions = ("grant_credits",)

    @admin.display(description="Amount", ordering="amount")
    def signed_amount(self, obj):
        return f"{obj.amount:+f}"

    @admin.display(description="Running balance", ordering="id")
    def running_balance(self, obj):
        # Each row stores the balance it left (written under the workspace's ledger lock),
        # so the running balance needs no sum over earlier rows.
        return format_html("<strong>{}</strong>", f"{obj.balance_after:f}")

    def get_urls(self):
        own = [path("grant/", self.admin_site.admin_view(self.grant_view),
                    name="billing_credittransaction_grant")]
        return [*own, *super().get_urls()]

    @staticmethod
    def may_grant(request) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and user.has_perm(STAFF_PERMISSION))

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self.may_grant(request):
            actions.pop("grant_credits", None)
        return actions

    @admin.action(description="Grant credits to the workspace of the selected row")
    def grant_credits(self, request, queryset):
        first = queryset.first()
        url = reverse("admin:billing_credittransaction_grant")
        return redirect(f"{url}?workspace={first.workspace_id}" if first else url)

    def grant_view(self, request):
        if not self.may_grant(request):
            raise PermissionDenied
        initial = {"workspace": request.GET.get("workspace") or None}
        form = GrantForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                if data["kind"] == "topup":
                    tx = credits.topup(data["workspace"], data["amount"],
                                       reference=data["reference"], by=request.user,
                                       expires_at=data["expires_at"],
                                       description=data["reason"])
                else:
                    tx = credits.grant(data["workspace"], data["amount"],
                                       reason=data["reason"], expires_at=data["expires_at"],
                                       by=request.user, reference=data["reference"])
            except ApiError as error:
                form.add_error(_field(error), error.message)
            else:
                self.message_user(request, f"{tx.get_kind_display()} of {tx.amount:f} credits "
                                           f"recorded; balance {tx.balance_after:f}.",
                                  messages.SUCCESS)
                return redirect(reverse("admin:billing_credittransaction_changelist")
                                + f"?workspace__id__exact={tx.workspace_id}")
        workspace = form.data.get("workspace") or initial["workspace"]
        balance = credits.balance(int(workspace)) if str(workspace or "").isdigit() else None
        context = {**self.admin_site.each_context(request), "opts": self.opts,
                   "title": "Grant credits", "form": form, "workspace": workspace,
                   "balance": balance,
                   "changelist": reverse("admin:billing_credittransaction_changelist"),
                   "text": "Adds credits to a workspace's ledger (recorded with your name). "
                           "Grants are free credits, top-ups are paid ones."}
        return HttpResponse(_PAGE.render(context, request))


def _field(error: ApiError) -> str | None:
    for name in ("amount", "reason", "expires_at", "reference", "workspace"):
        if name in error.errors:
            return name
    return None
