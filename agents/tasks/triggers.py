"""Celery tasks of agent triggers: beat's schedule tick and the answer of a conversation a
trigger started.  ``agents/tasks/__init__.py`` imports this module so workers find them."""

from __future__ import annotations

from datetime import UTC, datetime

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from ..services import triggers


def _moment(value: str | None) -> datetime:
    if not value:
        return timezone.now()
    moment = datetime.fromisoformat(value)
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


@shared_task(name=triggers.FIRE_TASK, acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=5,
             retry_jitter=True, max_retries=3)
def fire_schedule(trigger_id: int, tick_at: str | None = None) -> dict:
    """Start the conversation of the slot this tick is for; a repeated tick finds it."""
    conversation = triggers.fire_schedule(trigger_id, _moment(tick_at))
    if conversation is None:
        return {"trigger": trigger_id, "status": "ignored"}
    return {"trigger": trigger_id, "conversation": conversation.pk,
            "slot": conversation.metadata.get("slot")}


@shared_task(name=triggers.ANSWER_TASK, acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=5,
             retry_jitter=True, max_retries=3)
def answer(conversation_id: int, text: str) -> dict:
    """Run the chat turn of a triggered conversation (once, however often delivered)."""
    conversation = triggers.answer(conversation_id, text)
    if conversation is None:
        return {"conversation": conversation_id, "status": "gone"}
    return {"conversation": conversation.pk, "messages": conversation.messages.count()}
