"""Back office of the CRM: contacts with their timeline, lists, calls with transcripts,
campaigns, numbers, lead scores and follow-ups."""

from django.contrib import admin

from core.admin.base import BaseModelAdmin, ReadOnlyModelAdmin

from .. import models as m
from . import analytics, workspace_settings  # noqa: F401  (register rollups, CRM settings)
from .calls import call_now
from .campaigns import CampaignAdminMixin
from .contacts import ContactAdminMixin
from .leads import ContactScoreAdminMixin, FollowUpAdminMixin


class ContactNoteInline(admin.TabularInline):
    model = m.ContactNote
    extra = 0
    fields = ("body", "is_pinned", "author", "created_at")
    readonly_fields = ("author", "created_at")


class TranscriptInline(admin.StackedInline):
    model = m.Transcript
    extra = 0
    fields = ("language", "analysis_status", "summary", "turns", "extracted")


@admin.register(m.Contact)
class ContactAdmin(ContactAdminMixin, ContactScoreAdminMixin, BaseModelAdmin):
    list_display = ("__str__", "workspace", "phone", "email", "company", "status",
                    "not_connected", "do_not_call", "updated_at")
    list_filter = ("status", "do_not_call", "source")
    search_fields = ("first_name", "last_name", "phone", "email", "company")
    filter_horizontal = ("tags",)
    readonly_fields = ("merged_into", "not_connected", "last_contacted_at", "timeline_link")
    inlines = [ContactNoteInline]
    actions = [*ContactAdminMixin.actions, *ContactScoreAdminMixin.actions, call_now]


@admin.register(m.ContactEvent)
class ContactEventAdmin(ReadOnlyModelAdmin):
    list_display = ("occurred_at", "contact", "kind", "summary")
    list_filter = ("kind",)
    search_fields = ("summary", "contact__last_name", "contact__phone")


@admin.register(m.LeadScore)
class LeadScoreAdmin(ReadOnlyModelAdmin):
    list_display = ("contact", "score", "grade", "method", "computed_at")
    list_filter = ("grade", "method")


@admin.register(m.ProviderEvent)
class ProviderEventAdmin(ReadOnlyModelAdmin):
    list_display = ("provider", "event_type", "event_id", "call", "status", "occurred_at")
    list_filter = ("provider", "status", "event_type")
    search_fields = ("event_id",)


@admin.register(m.Call)
class CallAdmin(BaseModelAdmin):
    list_display = ("__str__", "workspace", "contact", "agent", "status", "direction",
                    "duration_seconds", "credits_charged", "created_at")
    list_filter = ("status", "direction")
    search_fields = ("to_number", "from_number", "provider_execution_id", "provider_call_sid")
    inlines = [TranscriptInline]


@admin.register(m.Campaign)
class CampaignAdmin(CampaignAdminMixin, BaseModelAdmin):
    list_display = ("name", "workspace", "agent", "status", "concurrency", "rate_per_minute",
                    "starts_at")
    list_filter = ("status",)
    search_fields = ("name",)
    filter_horizontal = ("phone_numbers", "contact_lists")
    readonly_fields = ("progress_link",)


@admin.register(m.CampaignContact)
class CampaignContactAdmin(BaseModelAdmin):
    list_display = ("campaign", "contact", "state", "attempts", "last_outcome",
                    "next_attempt_at")
    list_filter = ("state",)


@admin.register(m.FollowUp)
class FollowUpAdmin(FollowUpAdminMixin, BaseModelAdmin):
    list_display = ("contact", "channel", "due_at", "assignee", "status", "rule")
    list_filter = ("status", "channel")


@admin.register(m.PhoneNumber)
class PhoneNumberAdmin(BaseModelAdmin):
    list_display = ("number", "friendly_name", "workspace", "agent", "is_active")
    list_filter = ("is_active", "provider")
    search_fields = ("number", "friendly_name", "provider_sid")


for model, fields in (
        (m.ContactSource, ("name", "workspace", "kind")),
        (m.ContactTag, ("name", "workspace", "color")),
        (m.ContactList, ("name", "workspace", "description")),
        (m.ContactListMembership, ("contact_list", "contact", "created_at")),
        (m.ContactNote, ("contact", "author", "is_pinned", "created_at")),
        (m.ContactInteraction, ("contact", "channel", "direction", "occurred_at", "outcome")),
        (m.Customer, ("contact", "workspace", "converted_at", "value", "currency")),
        (m.ConversionJourney, ("contact", "stage", "campaign", "converted_at")),
        (m.Transcript, ("call", "analysis_status", "language", "created_at"))):
    admin.site.register(model, type(f"{model.__name__}Admin", (BaseModelAdmin,),
                                    {"list_display": fields}))
