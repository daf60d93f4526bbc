"""What the agents admins share: the agents' access rule on every write, saves through
the services, refusals shown as messages (never a server error), status colours."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect

from core import tenancy
from core.admin.base import BaseModelAdmin
from core.admin.display import AMBER, BLUE, GREEN, GREY, RED, status_badge
from core.admin.services import REFUSALS, adopt, call, error_text

from ..services import agents as services

COLOURS = {"draft": GREY, "active": GREEN, "paused": AMBER, "archived": GREY,
           "published": BLUE, "open": GREEN, "closed": GREY, "ok": GREEN, "error": RED}


def badge(obj, field: str = "status"):
    value = getattr(obj, field)
    return status_badge(value, getattr(obj, f"get_{field}_display")(), COLOURS)


def principal(request) -> tenancy.Principal:
    return tenancy.principal_for(request)


def form_fields(form, obj) -> dict:
    """The form's editable model fields as the service takes them (many-to-many too)."""
    data = {}
    for name in form.cleaned_data:
        if name in form._meta.model._meta._forward_fields_map or name in {
                f.name for f in obj._meta.many_to_many}:
            data[name] = form.cleaned_data[name]
    return data


class AgentRuleAdmin(BaseModelAdmin):
    """Writes checked by the agents' own rule (``services.may_write``) and saved through
    ``create``/``update``/``delete`` services that take the caller.  A refusal the form
    could not foresee (a race, a frozen version) comes back as a message."""

    def _may(self, request, obj, action: str) -> bool:
        if obj is None:
            return True
        return services.may_write(principal(request), obj, action)

    def service_create(self, request, fields: dict):
        return services.part_create(self.model, principal=principal(request),
                                    by=request.user, **fields)

    def service_update(self, request, obj, fields: dict):
        return services.part_update(obj, principal=principal(request), **fields)

    def service_delete(self, request, obj) -> None:
        services.part_delete(obj, principal=principal(request))

    def save_model(self, request, obj, form, change):
        fields = form_fields(form, obj)
        if change:
            self.service_update(request, obj, {k: v for k, v in fields.items()
                                               if k in form.changed_data})
        else:
            adopt(obj, self.service_create(request, fields))

    def save_related(self, request, form, formsets, change):
        # Many-to-many fields went to the service with the row; inlines as usual.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        self.service_delete(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            call(self, request, f"{obj} was not deleted", self.service_delete, request, obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except REFUSALS as exc:
            self.message_user(request, f"Not saved: {error_text(exc)}", messages.ERROR)
            return redirect(request.get_full_path())
