"""The domain events agents emit (core.events)."""

from __future__ import annotations

from core import events

CONVERSATION_REPLIED = "agents.conversation.replied"
QUOTA_THRESHOLD = "agents.quota.threshold"
DOCUMENT_INDEXED = "agents.document.indexed"


def register() -> None:
    events.register(CONVERSATION_REPLIED, version=1,
                    description="An agent answered a chat turn. Payload: agent, conversation, "
                                "message, channel, tokens_in, tokens_out, cost.")
    events.register(QUOTA_THRESHOLD, version=1,
                    description="A quota reached 80% or 100% of its limit. Payload: quota, "
                                "agent, percent, period_start, resets_at.")
    events.register(DOCUMENT_INDEXED, version=1,
                    description="A knowledge document was indexed or failed. Payload: "
                                "document, knowledge_base, status, chunks.")
