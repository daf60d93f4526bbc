"""The contact's admin pages: its timeline (calls with transcripts and recordings, notes,
events, interactions, lead-score history, follow-ups), a "merge duplicates" action and
the contacts CSV upload.

``ContactAdminMixin`` goes in front of ``BaseModelAdmin`` in ``crm/admin/__init__.py``'s
``ContactAdmin``; every rule is in ``crm.services.contacts`` and ``crm.imports.service``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core import tenancy
from core.api.errors import ApiError

from .. import models as m
from ..imports import contacts as contacts_format
from ..imports.service import contact_import_start
from ..services import contacts as services

TIMELINE_TEMPLATE = "admin/crm/contact/timeline.html"
IMPORT_TEMPLATE = "admin/crm/contact/import.html"
PER_KIND = 200  # most recent rows of each kind on the page


@dataclass
class Entry:
    at: datetime
    kind: str
    summary: str
    detail: str = ""
    url: str = ""
    link_text: str = ""


def _admin_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def timeline_entries(contact: m.Contact) -> list[Entry]:
    """Everything about ``contact``, newest first."""
    entries: list[Entry] = []
    calls = (m.Call.objects.filter(contact=contact).select_related("transcript", "agent")
             .order_by("-created_at")[:PER_KIND])
    for call in calls:
        transcript = getattr(call, "transcript", None)
        detail = f"{call.get_status_display()}, {call.duration_seconds}s"
        if call.outcome:
            detail += f", outcome {call.outcome}"
        if transcript is not None:
            said = " / ".join(f"{t.get('speaker', '?')}: {t.get('text', '')}"
                              for t in (transcript.turns or [])[:6])
            detail += f". Transcript ({transcript.get_analysis_status_display().lower()})"
            detail += f": {transcript.summary or said}"
        entries.append(Entry(call.started_at or call.created_at, "call",
                             f"{call.get_direction_display()} call {call.to_number}"
                             + (f" by {call.agent}" if call.agent_id else ""),
                             detail, call.recording_url, "recording" if call.recording_url
                             else ""))
    for note in m.ContactNote.objects.filter(contact=contact).order_by("-created_at")[:PER_KIND]:
        entries.append(Entry(note.created_at, "note", note.body[:300],
                             "pinned" if note.is_pinned else "", _admin_url(note), "note"))
    for event in m.ContactEvent.objects.filter(contact=contact)[:PER_KIND]:
        entries.append(Entry(event.occurred_at, event.kind, event.summary))
    for touch in m.ContactInteraction.objects.filter(contact=contact)[:PER_KIND]:
        entries.append(Entry(touch.occurred_at, f"interaction.{touch.channel}",
                             touch.summary or touch.get_channel_display(), touch.outcome))
    for score in m.LeadScore.objects.filter(contact=contact)[:PER_KIND]:
        reasons = ", ".join(str(r.get("rule", "")) for r in (score.reasons or [])
                            if isinstance(r, dict))
        entries.append(Entry(score.computed_at, "lead_score",
                             f"Score {score.score} (grade {score.grade})", reasons))
    for follow in m.FollowUp.objects.filter(contact=contact).order_by("-due_at")[:PER_KIND]:
        entries.append(Entry(follow.due_at, "follow_up",
                             f"{follow.get_channel_display()} follow-up due "
                             f"({follow.get_status_display().lower()})", follow.note[:200],
                             _admin_url(follow), "follow-up"))
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries


class ContactImportForm(forms.Form):
    workspace = forms.ModelChoiceField(queryset=None)
    file = forms.FileField(help_text="CSV: first_name, last_name, phone, email, company, "
                                     "time_zone, tags, source, custom_<name>; a phone or an "
                                     "email column.")
    region = forms.CharField(required=False, max_length=2,
                             help_text="Country of numbers written without +, e.g. PT.")
    on_duplicate = forms.ChoiceField(choices=[(c, c) for c in contacts_format.ON_DUPLICATE],
                                     help_text="Lines matching an existing contact.")
    skip_invalid = forms.BooleanField(required=False, help_text="Load the good lines when "
                                                                "some are bad.")

    def __init__(self, *args, workspaces, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workspace"].queryset = workspaces


class ContactAdminMixin:
    """Timeline page, merge action and CSV upload for ``ContactAdmin``."""

    object_pages = {"timeline": ("timeline/", "timeline_view")}
    actions = ["merge_duplicates"]
    change_list_template = "admin/crm/contact/change_list_import.html"  # "Import CSV"

    # --- timeline ----------------------------------------------------------------------

    @admin.display(description="timeline")
    def timeline_link(self, contact):
        if contact.pk is None:
            return "—"
        return format_html('<a href="{}">Open the timeline</a>',
                           reverse("admin:crm_contact_timeline", args=[contact.pk]))

    def timeline_view(self, request, object_id):
        contact = self.get_object_or_404(request, object_id)
        context = {**self.admin_site.each_context(request), "opts": self.opts,
                   "original": contact, "title": f"Timeline of {contact}",
                   "entries": timeline_entries(contact),
                   "duplicates": list(services.duplicates(contact)[:50]),
                   "merged_into": contact.merged_into}
        return TemplateResponse(request, TIMELINE_TEMPLATE, context)

    # --- merge -------------------------------------------------------------------------

    @admin.action(description="Merge duplicates into the selected contacts",
                  permissions=["change"])
    def merge_duplicates(self, request, queryset):
        merged, refused = 0, []
        principal = tenancy.principal_for(request)
        for keep in queryset.filter(merged_into__isnull=True).order_by("pk"):
            keep.refresh_from_db()
            if keep.merged_into_id:  # merged into an earlier selected contact meanwhile
                continue
            if not tenancy.can(principal, keep, "change"):  # a viewer of its workspace
                refused.append(f"#{keep.pk}: your role may not change this contact.")
                continue
            for other in services.duplicates(keep):
                if not tenancy.can(principal, other, "change"):
                    continue
                try:
                    services.merge(keep=keep, other=other, by=request.user)
                    merged += 1
                except ApiError as exc:
                    refused.append(f"#{other.pk}: {exc.message}")
        if merged:
            self.message_user(request, f"Merged {merged} duplicate(s).", messages.SUCCESS)
        else:
            self.message_user(request, "No duplicates to merge.", messages.INFO)
        for text in refused:
            self.message_user(request, text, messages.WARNING)

    # --- import ------------------------------------------------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [path("import/", self.admin_site.admin_view(self.import_view),
                     name="{}_{}_import".format(*info)), *super().get_urls()]

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        principal = tenancy.principal_for(request)
        workspaces = apps.get_model(settings.TENANCY_WORKSPACE_MODEL).objects.all()
        ids = tenancy.workspace_ids(principal, m.Contact, "add")
        if ids is not None:
            workspaces = workspaces.filter(pk__in=ids)
        form = ContactImportForm(request.POST or None, request.FILES or None,
                                 workspaces=workspaces)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                job = contact_import_start(
                    workspace=data["workspace"], upload=data["file"], by=request.user,
                    skip_invalid=data["skip_invalid"], on_duplicate=data["on_duplicate"],
                    region=data["region"])
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                self.message_user(request, f"Import #{job.pk}: {job.get_status_display()}. "
                                  + (job.message or "It runs on the worker; this page shows "
                                                    "its progress."), messages.INFO)
                return redirect("admin:analytics_importjob_change", job.pk)
        context = {**self.admin_site.each_context(request), "opts": self.opts,
                   "title": "Import contacts from a CSV file", "form": form}
        return TemplateResponse(request, IMPORT_TEMPLATE, context)
