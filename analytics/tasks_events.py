"""Celery tasks of product events (for beat): month partitions ahead, retention."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="analytics.events.ensure_partitions", acks_late=True)
def ensure_event_partitions() -> list[str]:
    """Daily: the month partitions from now to ``MONTHS_AHEAD`` months ahead exist
    (PostgreSQL; elsewhere nothing to do).  The names created."""
    from .partitions import ensure_partitions

    return ensure_partitions()


@shared_task(name="analytics.events.prune", acks_late=True)
def prune_events() -> dict:
    """Daily: events older than the live setting ``analytics.event_retention_days``
    deleted (whole month partitions dropped on PostgreSQL)."""
    from .partitions import prune_events as prune

    result = prune()
    return {"cutoff": result["cutoff"].isoformat(), "dropped": result["dropped"],
            "deleted": result["deleted"]}
