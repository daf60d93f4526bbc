"""The domain events the CRM emits (core.events), with the schema of each payload;
``CrmConfig.ready()`` calls ``register()``."""

from __future__ import annotations

from core import events

CALL_COMPLETED = "crm.call.completed"
CALL_ENDED = "crm.call.ended"
CONTACT_CONVERTED = "crm.contact.converted"

_ID = {"type": "integer", "minimum": 1}
_OPTIONAL_ID = {"type": ["integer", "null"], "minimum": 1}
_DECIMAL = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}
_FINAL = ["completed", "no_answer", "busy", "failed"]


def _call_schema(statuses: list[str]) -> dict:
    return {
        "type": "object",
        "properties": {
            "call": {**_ID, "description": "The call's id."},
            "contact": {**_OPTIONAL_ID, "description": "The contact's id; null when the "
                                                       "call has no contact."},
            "agent": {**_OPTIONAL_ID, "description": "The voice agent's id."},
            "campaign": {**_OPTIONAL_ID, "description": "The campaign that placed it."},
            "status": {"enum": statuses},
            "direction": {"enum": ["outbound", "inbound"]},
            "duration_seconds": {"type": "integer", "minimum": 0},
            "credits_charged": {**_DECIMAL, "description": "Credits settled for the call, "
                                                           "a decimal number as text."},
            "cost": {**_DECIMAL, "description": "The voice provider's cost, a decimal "
                                                "number as text."},
            "outcome": {"type": "string", "description": "What came of it, e.g. "
                                                         "interested, call_back; may be "
                                                         "empty."},
        },
        "required": ["call", "contact", "agent", "campaign", "status", "direction",
                     "duration_seconds", "credits_charged", "cost", "outcome"],
        "additionalProperties": False,
    }


CALL_COMPLETED_SCHEMA = _call_schema(["completed"])
CALL_ENDED_SCHEMA = _call_schema(_FINAL)

CONVERTED_SCHEMA = {
    "type": "object",
    "properties": {
        "contact": {**_ID, "description": "The contact's id."},
        "customer": {**_ID, "description": "The new customer's id."},
        "value": {"type": "integer", "minimum": 0,
                  "description": "The conversion's value in minor units (cents)."},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$",
                     "description": "ISO 4217 code, e.g. EUR."},
    },
    "required": ["contact", "customer", "value", "currency"],
    "additionalProperties": False,
}


def register() -> None:
    events.register(CALL_COMPLETED, version=1, schema=CALL_COMPLETED_SCHEMA,
                    description="A call was answered and has ended; its credits are "
                                "settled.  Always accompanied by crm.call.ended.")
    events.register(CALL_ENDED, version=1, schema=CALL_ENDED_SCHEMA,
                    description="A call reached its final status, whatever it was "
                                "(completed, no_answer, busy, failed).")
    events.register(CONTACT_CONVERTED, version=1, schema=CONVERTED_SCHEMA,
                    description="A contact became a customer.")
