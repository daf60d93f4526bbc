"""The campaign's admin: actions start, pause, resume, cancel and "dial now", and a live
progress page (entries by state, calls in progress, rate, credits held).

``CampaignAdminMixin`` goes in front of ``BaseModelAdmin`` in ``crm/admin/__init__.py``'s
``CampaignAdmin`` (with ``"progress_link"`` in its ``readonly_fields``); every rule is in
``crm.services.campaigns`` and ``crm.dialer``.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from core import tenancy
from core.api.errors import ApiError

from .. import dialer
from ..models import CampaignContact
from ..services import campaigns as services

PROGRESS_TEMPLATE = "admin/crm/campaign/progress.html"


def _run(modeladmin, request, queryset, service, done: str) -> None:
    principal = tenancy.principal_for(request)
    ok = []
    for campaign in queryset.select_related("agent"):
        if not tenancy.can(principal, campaign, "change"):
            modeladmin.message_user(request, f"{campaign}: your role may not run campaigns.",
                                    messages.ERROR)
            continue
        try:
            service(campaign, by=request.user)
        except ApiError as exc:
            modeladmin.message_user(request, f"{campaign}: {exc.message}", messages.ERROR)
            continue
        ok.append(str(campaign))
    if ok:
        modeladmin.message_user(request, f"{done}: {', '.join(ok)}.", messages.SUCCESS)


class CampaignAdminMixin:
    """Actions and the progress page for ``CampaignAdmin``."""

    object_pages = {"progress": ("progress/", "progress_view")}
    actions = ["start_campaigns", "pause_campaigns", "resume_campaigns", "cancel_campaigns",
               "dial_now"]

    @admin.action(description="Start the selected campaigns", permissions=["change"])
    def start_campaigns(self, request, queryset):
        _run(self, request, queryset, services.campaign_start, "Started")

    @admin.action(description="Pause the selected campaigns", permissions=["change"])
    def pause_campaigns(self, request, queryset):
        _run(self, request, queryset, services.campaign_pause, "Paused")

    @admin.action(description="Resume the selected campaigns", permissions=["change"])
    def resume_campaigns(self, request, queryset):
        _run(self, request, queryset, services.campaign_resume, "Resumed")

    @admin.action(description="Cancel the selected campaigns", permissions=["change"])
    def cancel_campaigns(self, request, queryset):
        _run(self, request, queryset, services.campaign_cancel, "Cancelled")

    @admin.action(description="Dial now (one dialer tick)", permissions=["change"])
    def dial_now(self, request, queryset):
        principal = tenancy.principal_for(request)
        for campaign in queryset:
            if not tenancy.can(principal, campaign, "change"):
                self.message_user(request, f"{campaign}: your role may not run campaigns.",
                                  messages.ERROR)
                continue
            result = dialer.dial(campaign.pk)
            if result.locked:
                text = "another tick is running; nothing done"
            elif result.status != campaign.Status.RUNNING and not result.paused_reason:
                text = f"not running ({result.status}); nothing dialled"
            else:
                text = f"{len(result.placed)} call(s) placed"
                if result.refused:
                    text += ", refused: " + ", ".join(f"{code}: {n}"
                                                      for code, n in result.refused.items())
                if result.paused_reason:
                    text += f". {result.paused_reason}"
            level = messages.WARNING if result.paused_reason else messages.INFO
            self.message_user(request, f"{campaign}: {text}.", level)

    @admin.display(description="progress")
    def progress_link(self, campaign):
        if campaign.pk is None:
            return "—"
        return format_html('<a href="{}">Live progress</a>',
                           reverse("admin:crm_campaign_progress", args=[campaign.pk]))

    def progress_view(self, request, object_id):
        campaign = self.get_object_or_404(request, object_id)
        progress = services.progress(campaign)
        labels = dict(CampaignContact.State.choices)
        states = [(labels[s], n) for s, n in progress["contacts"].items()]
        context = {**self.admin_site.each_context(request), "opts": self.opts,
                   "original": campaign, "title": f"Progress of {campaign}",
                   "progress": progress, "states": states}
        return TemplateResponse(request, PROGRESS_TEMPLATE, context)
