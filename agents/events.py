"""The domain events agents emit (core.events), with the schema of each payload."""

from __future__ import annotations

from core import events

CONVERSATION_REPLIED = "agents.conversation.replied"
QUOTA_THRESHOLD = "agents.quota.threshold"
DOCUMENT_INDEXED = "agents.document.indexed"

_ID = {"type": "integer", "minimum": 1}
_COUNT = {"type": "integer", "minimum": 0}
_DECIMAL = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}

REPLIED_SCHEMA = {
    "type": "object",
    "properties": {
        "agent": {**_ID, "description": "The agent's id."},
        "conversation": {**_ID, "description": "The conversation's id."},
        "message": {**_ID, "description": "The id of the agent's reply message."},
        "channel": {"enum": ["api", "admin", "webhook", "schedule", "event", "workflow",
                             "delegation"],
                    "description": "Where the turn came from."},
        "tokens_in": {**_COUNT, "description": "Prompt tokens over the turn's model calls."},
        "tokens_out": {**_COUNT, "description": "Completion tokens over the turn."},
        "cost": {**_DECIMAL, "description": "What the turn cost, a decimal number as text."},
    },
    "required": ["agent", "conversation", "message", "channel", "tokens_in", "tokens_out",
                 "cost"],
    "additionalProperties": False,
}

QUOTA_SCHEMA = {
    "type": "object",
    "properties": {
        "quota": {**_ID, "description": "The quota's id."},
        "agent": {"type": ["integer", "null"], "minimum": 1,
                  "description": "The agent's id; null for a workspace-wide quota."},
        "percent": {"enum": [80, 100], "description": "The threshold reached."},
        "period_start": {"type": ["string", "null"], "format": "date-time",
                         "description": "Start of the quota's current period."},
        "resets_at": {"type": "string", "format": "date-time",
                      "description": "When the usage starts again from zero."},
    },
    "required": ["quota", "agent", "percent", "period_start", "resets_at"],
    "additionalProperties": False,
}

INDEXED_SCHEMA = {
    "type": "object",
    "properties": {
        "document": {**_ID, "description": "The document's id."},
        "knowledge_base": {**_ID, "description": "The knowledge base's id."},
        "status": {"enum": ["ready", "failed"]},
        "chunks": {**_COUNT, "description": "Chunks indexed (0 when it failed)."},
        "error": {"type": "string", "description": "Why it failed (failed only)."},
    },
    "required": ["document", "knowledge_base", "status", "chunks"],
    "if": {"properties": {"status": {"const": "failed"}}},
    "then": {"required": ["error"]},
    "else": {"not": {"required": ["error"]}},
    "additionalProperties": False,
}


def register() -> None:
    events.register(CONVERSATION_REPLIED, version=1, schema=REPLIED_SCHEMA,
                    description="An agent answered a chat turn.")
    events.register(QUOTA_THRESHOLD, version=1, schema=QUOTA_SCHEMA,
                    description="An agent or workspace quota reached 80% or 100% of its "
                                "limit (each threshold once per period).")
    events.register(DOCUMENT_INDEXED, version=1, schema=INDEXED_SCHEMA,
                    description="A knowledge document was indexed, or failed to be.")
