"""Celery task of the nightly agent usage rollup (beat entry "rollup-agent-usage")."""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from ..services import rollups


@shared_task(name="agents.tasks.rollups.rollup_agent_usage")
def rollup_agent_usage(day: str | None = None) -> int:
    """Yesterday's rows by default (beat runs it after midnight); a day (ISO) to redo one."""
    when = date.fromisoformat(day) if day else timezone.localdate() - timedelta(days=1)
    return rollups.rollup_day(when)
