"""Celery task of the daily budget check (beat entry "check-agent-budgets")."""

from __future__ import annotations

from datetime import date

from celery import shared_task

from ..services import budgets


@shared_task(name="agents.tasks.budgets.check_budgets")
def check_budgets(day: str | None = None) -> int:
    """Alerts sent (at most one per quota and month); a day (ISO) to check as of it."""
    return len(budgets.check_all(today=date.fromisoformat(day) if day else None))
