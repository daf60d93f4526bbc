"""The domain events reports emits (core.events): a run succeeded or failed.

Registered in ``ReportsConfig.ready()``; emitted by ``reports.services.runs``
when a run's status becomes final, and dispatched once that change commits.  A
run skipped for having no data announces nothing.
"""

from __future__ import annotations

from core import events

RUN_SUCCEEDED = "reports.run.succeeded"
RUN_FAILED = "reports.run.failed"


def register() -> None:
    events.register(RUN_SUCCEEDED, version=1,
                    description="A report run was built. Payload: run, definition, "
                                "definition_name, kind, trigger, slot, row_count.")
    events.register(RUN_FAILED, version=1,
                    description="A report run failed. Payload as for reports.run.succeeded "
                                "plus error (its first line).")


def run_finished(run) -> None:
    """Announce a run that has just succeeded or failed (skipped: nothing)."""
    from .models import ReportRun

    name = {ReportRun.Status.SUCCEEDED: RUN_SUCCEEDED,
            ReportRun.Status.FAILED: RUN_FAILED}.get(run.status)
    if name is None:
        return
    definition = run.definition
    payload = {"run": run.pk, "definition": definition.pk,
               "definition_name": definition.name, "kind": definition.kind,
               "trigger": run.trigger, "status": run.status,
               "slot": run.slot.isoformat() if run.slot else None,
               "row_count": run.row_count}
    if name == RUN_FAILED:
        payload["error"] = ((run.error or "").strip().splitlines() or [""])[0][:500]
    events.emit(name, payload, workspace_id=run.workspace_id)
