"""Admin action "Call now" for contacts: each selected contact is called by its
workspace's voice agent through the call service (same rules as the API: plan switch,
credits reservation, do-not-call, provider failure kept as a failed call).

Wiring (crm/admin/__init__.py): ``from .calls import call_now`` and
``actions = [..., call_now]`` on the Contact admin."""

from __future__ import annotations

from django.contrib import admin, messages

from agents.models import Agent
from core import tenancy
from core.api.errors import ApiError

from ..models import Call
from ..services import calls

#: A bulk "call now" is for a handful of people; campaigns are for lists.
MAX_CONTACTS = 25


def voice_agent_for(workspace_id: int) -> Agent | None:
    """The workspace's voice agent that calls by default: an active voice agent with a
    voice platform id (the most recently updated one)."""
    return (Agent.objects.filter(workspace_id=workspace_id, kind=Agent.Kind.VOICE)
            .exclude(voice_provider_agent_id="")
            .filter(status=Agent.Status.ACTIVE).order_by("-updated_at", "-pk").first())


@admin.action(description="Call now (voice agent)", permissions=["change"])
def call_now(modeladmin, request, queryset):
    contacts = list(queryset.select_related("workspace")[:MAX_CONTACTS + 1])
    if len(contacts) > MAX_CONTACTS:
        modeladmin.message_user(request, f"Select at most {MAX_CONTACTS} contacts to call "
                                         "now; use a campaign for more.", messages.ERROR)
        return
    principal = tenancy.principal_for(request)
    placed = []
    for contact in contacts:
        if not tenancy.can_in_workspace(principal, contact.workspace, Call, "add"):
            modeladmin.message_user(request, f"{contact}: your role cannot place calls in "
                                             f"{contact.workspace}.", messages.ERROR)
            continue
        agent = voice_agent_for(contact.workspace_id)
        if agent is None:
            modeladmin.message_user(request, f"{contact}: {contact.workspace} has no active "
                                             "voice agent with a voice platform id.",
                                    messages.ERROR)
            continue
        try:
            call = calls.place_call(workspace=contact.workspace, agent=agent, contact=contact,
                                    by=request.user)
        except ApiError as error:
            modeladmin.message_user(request, f"{contact}: {error.message}", messages.ERROR)
            continue
        placed.append(f"{contact} (call {call.pk})")
    if placed:
        modeladmin.message_user(request, f"Calling: {', '.join(placed)}.", messages.SUCCESS)
