"""Celery tasks of lead scoring (and its agent refinement), follow-ups, and the call
and user KPI rollups (for beat)."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone


@shared_task(name="crm.leads.rescore", acks_late=True)
def rescore_active(days: int = 60) -> int:
    """Nightly: score again every contact with activity in the last ``days`` days, so
    scores decay without new events."""
    from .services import scoring

    return scoring.rescore_active(days)


@shared_task(name="crm.follow_ups.remind", acks_late=True)
def send_follow_up_reminders() -> int:
    """Every 5 minutes: email the assignees of follow-ups due within the hour (once)."""
    from .services import followups

    return followups.send_reminders()


@shared_task(name="crm.follow_ups.sweep", acks_late=True)
def sweep_follow_up_rules(hours: int = 48) -> int:
    """Every 15 minutes: the call-back rule over calls of the last ``hours`` hours whose
    transcript came after the call ended."""
    from .services import followups

    return followups.sweep_calls(timezone.now() - timedelta(hours=hours))


@shared_task(name="crm.rollups.daily", acks_late=True)
def rollup_yesterday(days: int = 2) -> dict:
    """Nightly: recompute the call rollups of the last ``days`` UTC days up to
    yesterday (two by default: late events of the day before change it too)."""
    from .services import rollups

    yesterday = timezone.now().date() - timedelta(days=1)
    stats = rollups.rollup(yesterday - timedelta(days=days - 1), yesterday)
    return {k: int(v) for k, v in stats.items()}


@shared_task(name="crm.leads.refine", acks_late=True)
def refine_score(score_id: int) -> int | None:
    """Ask the workspace's agent to refine the rules score ``score_id`` (queued after a
    score is written, when the workspace names an agent); the agent score's id, or None."""
    from .services import lead_agent

    row = lead_agent.refine(score_id)
    return row.pk if row is not None else None


@shared_task(name="crm.rollups.user_kpis", acks_late=True)
def rollup_user_kpis_yesterday(days: int = 2) -> dict:
    """Nightly: recompute the user KPIs of the last ``days`` UTC days up to yesterday."""
    from .services import rollups

    yesterday = timezone.now().date() - timedelta(days=1)
    stats = rollups.rollup_user_kpis(yesterday - timedelta(days=days - 1), yesterday)
    return {k: int(v) for k, v in stats.items()}
