"""Admin actions for follow-ups and lead scores, as mixins the lead puts in front of
the admins registered in crm/admin/__init__.py::

    class FollowUpAdmin(FollowUpAdminMixin, BaseModelAdmin): ...
    class ContactAdmin(ContactAdminMixin, ContactScoreAdminMixin, BaseModelAdmin): ...

Every change goes through ``crm.services.followups`` / ``crm.services.scoring`` (the
timeline rows included); a follow-up added by hand in the admin is recorded there too.
"""

from __future__ import annotations

from django.contrib import admin, messages

from core import tenancy
from core.api.errors import ApiError

from ..services import followups, scoring, timeline


class FollowUpAdminMixin:
    actions = ["complete_follow_ups", "cancel_follow_ups"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            timeline.record(obj.contact, "follow_up.created",
                            f"Follow-up by {obj.get_channel_display().lower()} due "
                            f"{obj.due_at:%Y-%m-%d %H:%M %Z}", source=obj,
                            data={"follow_up": obj.pk, "rule": obj.rule, "via": "admin",
                                  "by": request.user.pk})

    def _close(self, request, queryset, close, verb: str):
        done, refused = 0, []
        principal = tenancy.principal_for(request)
        for follow_up in queryset.order_by("pk"):
            if not tenancy.can(principal, follow_up, "change"):
                refused.append(f"#{follow_up.pk}: your role may not change this follow-up.")
                continue
            try:
                close(follow_up, by=request.user)
                done += 1
            except ApiError as exc:
                refused.append(f"#{follow_up.pk}: {exc.message}")
        level = messages.SUCCESS if done else messages.INFO
        self.message_user(request, f"{verb} {done} follow-up(s).", level)
        for text in refused:
            self.message_user(request, text, messages.WARNING)

    @admin.action(description="Mark the selected follow-ups done", permissions=["change"])
    def complete_follow_ups(self, request, queryset):
        self._close(request, queryset, followups.complete, "Completed")

    @admin.action(description="Cancel the selected follow-ups", permissions=["change"])
    def cancel_follow_ups(self, request, queryset):
        self._close(request, queryset, followups.cancel, "Cancelled")


class ContactScoreAdminMixin:
    """A "score now" action for ContactAdmin (extend its ``actions`` with
    ``score_contacts`` when another mixin sets ``actions`` too)."""

    actions = ["score_contacts"]

    @admin.action(description="Score the selected contacts now", permissions=["change"])
    def score_contacts(self, request, queryset):
        rows = [scoring.score(contact) for contact in queryset.order_by("pk")[:500]]
        grades = ", ".join(f"{row.contact}: {row.score} ({row.grade})" for row in rows[:10])
        self.message_user(request, f"Scored {len(rows)} contact(s). {grades}",
                          messages.SUCCESS)
