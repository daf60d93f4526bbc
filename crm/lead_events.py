"""The CRM reacting to its own domain events: a call that ended or a contact that
converted is scored again, and a call asking to be called back gets its follow-up.

``connect()`` subscribes ``handle`` to core.events (from ``CrmConfig.ready()``).  Events
are dispatched after the emitting transaction commits, in-process: the work here is a
few queries per event.  ``crm.call.completed`` is ignored because ``crm.call.ended``
always accompanies it (scoring it twice would append two identical rows).
"""

from __future__ import annotations

from core import events

from . import events as crm_events


def handle(event: events.Event) -> None:
    if event.name not in (crm_events.CALL_ENDED, crm_events.CONTACT_CONVERTED):
        return
    from . import scoring
    from .models import Call, Contact
    from .services import followups
    from .services import scoring as lead_scores

    contact_id = event.payload.get("contact")
    if event.name == crm_events.CALL_ENDED and event.payload.get("call"):
        call = (Call.objects.select_related("transcript")
                .filter(pk=event.payload["call"]).first())
        if call is not None:
            if call.hangup_reason == scoring.NOT_PLACED:
                return  # never dialled: nothing about the lead changed
            followups.from_call(call)
            contact_id = call.contact_id
    if contact_id is None:
        return
    contact = Contact.objects.filter(pk=contact_id, merged_into__isnull=True).first()
    if contact is not None:
        lead_scores.score(contact)


def connect() -> None:
    events.subscribe(handle)
