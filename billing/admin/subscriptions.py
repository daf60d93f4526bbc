"""Back office of subscriptions and test clocks.

A subscription's page is read-only: its fields, its timeline (the workspace activity
rows about it: subscribed, trial ended, renewed, plan changed, cancelled…), its pending
proration lines and its invoices.  It changes only through its own pages (change plan,
cancel, pause, resume), which call ``billing.services.subscriptions`` with the caller,
so the API's rule holds here too (owner or admin of the workspace; billing staff
always); a refusal is shown as a message, never a server error.  Subscribing from the
add page goes through the same ``subscribe``.

A test clock's page has "Advance to…": the clock moves and the workspace's billing runs
up to the new time (``billing.services.clock.advance_clock``; staff with
``billing.change_testclock``).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django_fsm import can_proceed

from core import tenancy
from core.admin.base import BaseModelAdmin
from core.admin.display import AMBER, BLUE, GREEN, GREY, RED, status_badge
from core.admin.services import REFUSALS, adopt, call, error_text
from workspaces.models import Activity

from .. import models as m
from ..services import clock as clock_service
from ..services import coupons
from ..services import subscriptions as services

Status = m.Subscription.Status
COLOURS = {"trialing": BLUE, "active": GREEN, "past_due": RED, "paused": AMBER,
           "cancelled": GREY, "ended": GREY, "draft": GREY, "open": BLUE, "paid": GREEN,
           "void": GREY, "uncollectible": RED}
TEMPLATE = "admin/billing/subscription/action.html"
#: Rows the timeline shows (newest first); the workspace's activity feed has them all.
TIMELINE_ROWS = 50


def principal(request) -> tenancy.Principal:
    return tenancy.principal_for(request)


def _admin_link(obj, label=None):
    try:
        url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change",
                      args=[obj.pk])
    except NoReverseMatch:
        return label or str(obj)
    return format_html('<a href="{}">{}</a>', url, label or obj)


def _posted(request):
    """The form data of a POST (an empty one too: an unticked box posts nothing)."""
    return request.POST if request.method == "POST" else None


def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:,.2f} {currency}"


class SubscribeForm(forms.ModelForm):
    coupon_code = forms.CharField(max_length=40, required=False,
                                  help_text="A coupon to redeem on subscribing (optional).")

    class Meta:
        model = m.Subscription
        fields = ("workspace", "plan")


class ChangePlanForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=m.Plan.objects.filter(status=m.Plan.Status.ACTIVE),
                                  help_text="Takes effect now.")
    prorate = forms.BooleanField(
        required=False, initial=True,
        help_text="Credit the unused days of the current plan and charge the new plan for "
                  "the same days (pending lines on the next invoice).")

    def __init__(self, *args, subscription=None, **kwargs):
        super().__init__(*args, **kwargs)
        if subscription is not None:
            self.fields["plan"].queryset = self.fields["plan"].queryset.filter(
                currency=subscription.plan.currency, interval=subscription.plan.interval
            ).exclude(pk=subscription.plan_id)


class CancelForm(forms.Form):
    at_period_end = forms.BooleanField(
        required=False, initial=True, label="At period end",
        help_text="Unticked: the subscription is cancelled at once.")


class AdvanceForm(forms.Form):
    to = forms.SplitDateTimeField(widget=AdminSplitDateTime, label="Advance to",
                                  help_text="The simulated time (UTC), forward only.")


@admin.register(m.Subscription)
class SubscriptionAdmin(BaseModelAdmin):
    list_display = ("__str__", "workspace", "plan", "status_badge", "current_period_end",
                    "trial_end", "cancel_at_period_end")
    list_select_related = ("workspace", "plan")
    list_filter = ("status", "cancel_at_period_end", "plan")
    search_fields = ("workspace__name", "plan__code", "plan__name")
    form = SubscribeForm
    add_fieldsets = ((None, {"fields": ("workspace", "plan", "coupon_code")}),)
    fieldsets = (
        (None, {"fields": ("workspace", "plan", "status_badge", "actions_links")}),
        ("Period", {"fields": ("started_at", "current_period_start", "current_period_end",
                               "trial_end", "cancel_at_period_end", "cancelled_at",
                               "ended_at", "paused_at", "past_due_since")}),
        ("Discount", {"fields": ("coupon", "coupon_periods_used", "coupon_left")}),
        ("Billing", {"fields": ("pending_lines", "invoices_list", "provider", "external_id",
                                "created_by", "metadata")}),
        ("Timeline", {"fields": ("timeline",)}),
    )
    object_pages = {"change_plan": ("change-plan/", "change_plan_view"),
                    "cancel": ("cancel/", "cancel_view"),
                    "pause": ("pause/", "pause_view"),
                    "resume": ("resume/", "resume_view")}
    actions = ["cancel_at_end", "pause_selected", "resume_selected"]

    # --- pages ----------------------------------------------------------------------

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["fields"] = ("workspace", "plan", "coupon_code")
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return [name for _, options in self.fieldsets for name in options["fields"]]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # invoices refer to it; cancel it instead

    def save_model(self, request, obj, form, change):
        if change:
            return  # read-only page: changes go through the action pages
        data = form.cleaned_data
        adopt(obj, services.subscribe(
            workspace=data["workspace"], plan=data["plan"],
            coupon_code=data.get("coupon_code") or "", by=request.user,
            principal=principal(request)))

    def save_related(self, request, form, formsets, change):
        pass  # no many-to-many, no inlines

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if object_id is not None:  # read-only: its actions are the links on the page
            extra_context = {**(extra_context or {}), "show_save": False,
                             "show_save_and_continue": False,
                             "show_save_and_add_another": False}
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except REFUSALS as exc:
            self.message_user(request, f"Not saved: {error_text(exc)}", messages.ERROR)
            return redirect(request.get_full_path())

    # --- what the page shows ----------------------------------------------------------

    @admin.display(description="status", ordering="status")
    def status_badge(self, sub):
        return status_badge(sub.status, sub.get_status_display(), COLOURS)

    @admin.display(description="actions")
    def actions_links(self, sub):
        if sub.pk is None:
            return "—"
        pages = [("change_plan", "Change plan…", sub.status in (Status.TRIALING, Status.ACTIVE,
                                                                Status.PAST_DUE)),
                 ("cancel", "Cancel…", can_proceed(sub.cancel)),
                 ("pause", "Pause…", can_proceed(sub.pause)),
                 ("resume", "Resume…", can_proceed(sub.resume))]
        shown = [(reverse(f"admin:billing_subscription_{name}", args=[sub.pk]), label)
                 for name, label, ok in pages if ok]
        if not shown:
            return "None: the subscription has finished."
        return format_html_join(" · ", '<a href="{}">{}</a>', shown)

    @admin.display(description="coupon periods left")
    def coupon_left(self, sub):
        if sub.coupon_id is None:
            return "—"
        left = coupons.periods_left(sub)
        return "every invoice (forever)" if left is None else str(left)

    @admin.display(description="pending lines (next invoice)")
    def pending_lines(self, sub):
        if sub.pk is None:
            return "—"
        rows = list(sub.lines.filter(invoice__isnull=True).order_by("id")[:20])
        if not rows:
            return "None."
        return format_html(
            "<table><thead><tr><th>kind</th><th>description</th><th>amount</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                             ((line.get_kind_display(), line.description,
                               _money(line.amount, line.currency)) for line in rows)))

    @admin.display(description="invoices")
    def invoices_list(self, sub):
        if sub.pk is None:
            return "—"
        rows = list(sub.invoices.order_by("-period_start", "-id")[:24])
        if not rows:
            return "None yet."
        return format_html(
            "<table><thead><tr><th>invoice</th><th>period</th><th>status</th><th>total</th>"
            "<th>due</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join("", "<tr><td>{}</td><td>{} to {}</td><td>{}</td><td>{}</td>"
                                 "<td>{}</td></tr>",
                             ((_admin_link(inv), _day(inv.period_start), _day(inv.period_end),
                               status_badge(inv.status, inv.get_status_display(), COLOURS),
                               _money(inv.total, inv.currency),
                               _money(inv.amount_due, inv.currency)) for inv in rows)))

    @admin.display(description="timeline")
    def timeline(self, sub):
        if sub.pk is None:
            return "—"
        rows = list(Activity.objects.filter(
            workspace_id=sub.workspace_id, target_type="billing.subscription",
            target_id=str(sub.pk)).select_related("actor").order_by("-id")[:TIMELINE_ROWS])
        if not rows:
            return "Nothing recorded yet."
        return format_html(
            '<table id="subscription-timeline"><thead><tr><th>billing time</th>'
            "<th>recorded</th><th>what</th><th>by</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join("", '<tr data-verb="{}"><td>{}</td><td>{}</td><td>{}</td>'
                                 "<td>{}</td></tr>",
                             ((row.verb, (row.data or {}).get("at") or "—",
                               f"{row.created_at:%Y-%m-%d %H:%M}", row.summary,
                               row.actor or "system") for row in rows)))

    # --- object pages ---------------------------------------------------------------

    def _subscription(self, request, object_id):
        sub = self.get_object_or_404(request, object_id,
                                     self.get_queryset(request).select_related("plan"))
        if not self.has_change_permission(request, sub):
            raise PermissionDenied
        return sub

    def _page(self, request, sub, title, **context):
        context = {**self.admin_site.each_context(request), "title": title, "opts": self.opts,
                   "original": sub, **context}
        return TemplateResponse(request, TEMPLATE, context)

    def _back(self, sub):
        return redirect("admin:billing_subscription_change", sub.pk)

    def _rows(self, sub):
        return [("Plan", f"{sub.plan.name} ({_money(sub.plan.price, sub.plan.currency)} per "
                         f"{sub.plan.interval})"),
                ("Status", sub.get_status_display()),
                ("Current period", f"{_day(sub.current_period_start)} to "
                                   f"{_day(sub.current_period_end)}")]

    def change_plan_view(self, request, object_id):
        sub = self._subscription(request, object_id)
        form = ChangePlanForm(_posted(request), subscription=sub)
        if request.method == "POST" and form.is_valid():
            done = call(self, request, f"{sub} was not changed", services.change_plan, sub,
                        form.cleaned_data["plan"], prorate=form.cleaned_data["prorate"],
                        by=request.user, principal=principal(request))
            if done is not None:
                self.message_user(request, f"Now on {done.plan.name}.", messages.SUCCESS)
            return self._back(sub)
        return self._page(request, sub, f"Change the plan of {sub}", form=form,
                          rows=self._rows(sub), action="Change plan",
                          text="The new plan applies now. With proration, the next invoice "
                               "credits the current plan's unused days and charges the new "
                               "plan's price for the same days.")

    def cancel_view(self, request, object_id):
        sub = self._subscription(request, object_id)
        form = CancelForm(_posted(request))
        if request.method == "POST" and form.is_valid():
            at_end = form.cleaned_data["at_period_end"]
            done = call(self, request, f"{sub} was not cancelled", services.cancel, sub,
                        at_period_end=at_end, by=request.user, principal=principal(request))
            if done is not None:
                self.message_user(request, f"{done}: ends on {_day(done.current_period_end)}."
                                  if at_end else f"{done}: cancelled.", messages.SUCCESS)
            return self._back(sub)
        return self._page(request, sub, f"Cancel {sub}", form=form, rows=self._rows(sub),
                          action="Cancel subscription",
                          text="At period end, the subscription runs (and is billed) to the "
                               "end of its period, then ends. At once, it stops now.")

    def _simple(self, request, object_id, service, *, label: str, done_text: str,
                transition: str, text: str):
        sub = self._subscription(request, object_id)
        if request.method == "POST":
            done = call(self, request, f"{sub}: {label.lower()} refused", service, sub,
                        by=request.user, principal=principal(request))
            if done is not None:
                self.message_user(request, f"{done}: {done_text}.", messages.SUCCESS)
            return self._back(sub)
        possible = can_proceed(getattr(sub, transition))
        return self._page(request, sub, f"{label} {sub}", rows=self._rows(sub),
                          action=label if possible else None,
                          text=text if possible else
                          f"A subscription that is {sub.get_status_display().lower()} "
                          f"cannot be {done_text}.")

    def pause_view(self, request, object_id):
        return self._simple(request, object_id, services.pause, label="Pause",
                            done_text="paused", transition="pause",
                            text="While paused the period does not renew and nothing is "
                                 "invoiced.")

    def resume_view(self, request, object_id):
        return self._simple(request, object_id, services.resume, label="Resume",
                            done_text="resumed", transition="resume",
                            text="Billing resumes; a period that ran out while paused "
                                 "restarts today.")

    # --- changelist actions (the same services, one row at a time) ------------------

    def _each(self, request, queryset, service, what: str, **kwargs):
        for sub in queryset.select_related("plan"):
            if call(self, request, f"{sub} was not {what}", service, sub, by=request.user,
                    principal=principal(request), **kwargs):
                self.message_user(request, f"{sub}: {what}.", messages.SUCCESS)

    @admin.action(description="Cancel at period end", permissions=["change"])
    def cancel_at_end(self, request, queryset):
        self._each(request, queryset, services.cancel, "set to cancel at period end",
                   at_period_end=True)

    @admin.action(description="Pause", permissions=["change"])
    def pause_selected(self, request, queryset):
        self._each(request, queryset, services.pause, "paused")

    @admin.action(description="Resume", permissions=["change"])
    def resume_selected(self, request, queryset):
        self._each(request, queryset, services.resume, "resumed")


def _day(moment) -> str:
    return f"{moment:%Y-%m-%d}" if moment is not None else "—"


@admin.register(m.TestClock)
class TestClockAdmin(BaseModelAdmin):
    list_display = ("__str__", "workspace", "frozen_time", "name", "updated_at")
    list_select_related = ("workspace",)
    search_fields = ("workspace__name", "name")
    fields = ("workspace", "name", "frozen_time", "advance_link")
    object_pages = {"advance": ("advance/", "advance_view")}

    def get_readonly_fields(self, request, obj=None):
        # Moving the clock of an existing clock goes through "Advance to…" (billing runs).
        return ("advance_link",) if obj is None else ("frozen_time", "advance_link")

    @admin.display(description="advance")
    def advance_link(self, clock):
        if clock.pk is None:
            return "Save first, then advance it."
        url = reverse("admin:billing_testclock_advance", args=[clock.pk])
        return format_html('<a href="{}">Advance to…</a>', url)

    def advance_view(self, request, object_id):
        clock = self.get_object_or_404(request, object_id,
                                       self.get_queryset(request).select_related("workspace"))
        if not services.is_billing_staff(request.user, "billing.change_testclock"):
            raise PermissionDenied
        form = AdvanceForm(_posted(request), initial={"to": clock.frozen_time})
        if request.method == "POST" and form.is_valid():
            result = call(self, request, f"{clock} was not advanced",
                          clock_service.advance_clock, clock.workspace,
                          form.cleaned_data["to"], by=request.user)
            if result is not None:
                notes = " ".join(result.notes)
                self.message_user(request, f"Clock at {result.clock.frozen_time:%Y-%m-%d %H:%M}"
                                  f" UTC: {result.subscriptions_advanced} subscription "
                                  f"move(s). {notes}".strip(), messages.SUCCESS)
            return redirect("admin:billing_testclock_change", clock.pk)
        subs = m.Subscription.objects.filter(workspace_id=clock.workspace_id,
                                             status__in=m.Subscription.LIVE) \
            .select_related("plan")
        rows = [("Workspace", clock.workspace), ("Clock", f"{clock.frozen_time:%Y-%m-%d %H:%M}"
                                                          " UTC")]
        rows += [("Subscription", f"{sub} — period ends {_day(sub.current_period_end)}")
                 for sub in subs]
        return TemplateResponse(request, TEMPLATE, {
            **self.admin_site.each_context(request), "title": f"Advance {clock}",
            "opts": self.opts, "original": clock, "form": form, "rows": rows,
            "action": "Advance",
            "text": "Every trial end, period end (invoice, renewal) and cancellation due by "
                    "then is processed for this workspace, period by period, then dunning."})
