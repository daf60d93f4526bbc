"""The event the webhooks app registers: ``webhooks.test``, sent by "send test event" to one
endpoint (never fanned out to the others)."""

from __future__ import annotations

from core import events

TEST_EVENT = "webhooks.test"

TEST_SCHEMA = {
    "type": "object",
    "properties": {
        "endpoint": {"type": "integer", "description": "The endpoint tested."},
        "message": {"type": "string", "description": "A fixed greeting."},
        "sent_by": {"type": ["integer", "null"], "description": "The user who asked."},
    },
    "required": ["endpoint", "message"],
    "additionalProperties": False,
}


def register() -> None:
    events.register(TEST_EVENT, version=1, schema=TEST_SCHEMA,
                    description="A test message asked for from the API or admin, sent to "
                                "one endpoint only. Payload: endpoint, message, sent_by.")
