"""The domain events the CRM emits (core.events); ``CrmConfig.ready()`` calls
``register()``."""

from __future__ import annotations

from core import events

CALL_COMPLETED = "crm.call.completed"
CALL_ENDED = "crm.call.ended"
CONTACT_CONVERTED = "crm.contact.converted"


def register() -> None:
    events.register(CALL_COMPLETED, version=1,
                    description="A call was answered and has ended; its credits are settled. "
                                "Payload: call, contact, agent, campaign, direction, "
                                "duration_seconds, credits_charged, cost, outcome.")
    events.register(CALL_ENDED, version=1,
                    description="A call reached its final status, whatever it was "
                                "(completed, no_answer, busy, failed). Payload: call, contact, "
                                "agent, campaign, status, duration_seconds, credits_charged.")
    events.register(CONTACT_CONVERTED, version=1,
                    description="A contact became a customer. Payload: contact, customer, "
                                "value, currency.")
