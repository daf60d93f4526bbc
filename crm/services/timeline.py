"""A contact's timeline: one function every CRM service writes through.

``ContactEvent`` rows are append-only; they say what happened to a contact (a call,
a note, a merge, a conversion) and point at the row it came from (``source``), so
the admin's contact page can link to it.
"""

from __future__ import annotations

from django.db import models

from billing.clock import now as clock_now

from ..models import Contact, ContactEvent

SUMMARY_CHARS = ContactEvent._meta.get_field("summary").max_length


def source_of(obj: models.Model | None) -> tuple[str, str]:
    """``("app_label.model_name", "pk")`` of a model instance; blanks for None."""
    if obj is None:
        return "", ""
    return obj._meta.label_lower, str(obj.pk)


def record(contact: Contact, kind: str, summary: str, *, occurred_at=None,
           source: models.Model | None = None, data: dict | None = None) -> ContactEvent:
    """Append one event to ``contact``'s timeline and return it.

    ``occurred_at`` defaults to the workspace's clock (billing's test clock moves it in
    tests); ``source`` is the row the event is about (a call, a note, a customer).
    """
    source_type, source_id = source_of(source)
    return ContactEvent.objects.create(
        workspace_id=contact.workspace_id, contact=contact, kind=kind,
        summary=(summary or kind)[:SUMMARY_CHARS],
        occurred_at=occurred_at or clock_now(contact.workspace_id),
        source_type=source_type, source_id=source_id, data=data or {})
