"""The domain events reports emits (core.events): a run succeeded or failed, and a
finished run was emailed to a recipient.

Registered in ``ReportsConfig.ready()``; the runs are announced by
``reports.services.runs`` when a run's status becomes final, the deliveries by
``reports.services.deliveries`` once the mail server took the message; both are
dispatched once the change commits.  A run skipped for having no data announces
nothing.
"""

from __future__ import annotations

from core import events

from .kinds import KINDS

RUN_SUCCEEDED = "reports.run.succeeded"
RUN_FAILED = "reports.run.failed"
DELIVERY_SENT = "reports.delivery.sent"

_ID = {"type": "integer", "minimum": 1}
_RUN = {
    "run": {**_ID, "description": "The run's id."},
    "definition": {**_ID, "description": "The report definition's id."},
    "definition_name": {"type": "string"},
    "kind": {"enum": list(KINDS), "description": "The report kind."},
}


def _run_schema(status: str, **extra: dict) -> dict:
    properties = {
        **_RUN,
        "trigger": {"enum": ["schedule", "manual", "api"],
                    "description": "What started the run."},
        "status": {"const": status},
        "slot": {"type": ["string", "null"], "format": "date-time",
                 "description": "The schedule slot it ran for; null when not scheduled."},
        "row_count": {"type": "integer", "minimum": 0,
                      "description": "Rows over all the report's tables."},
        **extra,
    }
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}


RUN_SUCCEEDED_SCHEMA = _run_schema("succeeded")
RUN_FAILED_SCHEMA = _run_schema("failed", error={
    "type": "string", "maxLength": 500, "description": "The first line of the error."})

DELIVERY_SENT_SCHEMA = {
    "type": "object",
    "properties": {
        "delivery": {**_ID, "description": "The delivery's id."},
        **_RUN,
        "channel": {"enum": ["email"]},
        # The address stays out: analytics and outbound webhooks store payloads.
        "recipient": {"type": ["integer", "null"], "minimum": 1,
                      "description": "The recipient user's id (null: the user was "
                                     "deleted since)."},
        "requested_by": {"type": ["integer", "null"], "minimum": 1,
                         "description": "Who sent it by hand; null when it went to the "
                                        "report's recipients."},
        "attempts": {**_ID, "description": "Attempts it took, this one included."},
        "sent_at": {"type": "string", "format": "date-time"},
    },
    "required": ["delivery", *_RUN, "channel", "recipient", "requested_by", "attempts",
                 "sent_at"],
    "additionalProperties": False,
}


def register() -> None:
    events.register(RUN_SUCCEEDED, version=1, schema=RUN_SUCCEEDED_SCHEMA,
                    description="A report run was built (its deliveries follow).")
    events.register(RUN_FAILED, version=1, schema=RUN_FAILED_SCHEMA,
                    description="A report run failed.")
    events.register(DELIVERY_SENT, version=1, schema=DELIVERY_SENT_SCHEMA,
                    description="A finished report was sent to one recipient (the mail "
                                "server accepted it).")


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


def delivery_sent(delivery) -> None:
    """Announce a delivery the mail server has just accepted."""
    run, definition = delivery.run, delivery.run.definition
    events.emit(DELIVERY_SENT, {
        "delivery": delivery.pk, "run": run.pk, "definition": definition.pk,
        "definition_name": definition.name, "kind": definition.kind,
        "channel": delivery.channel, "recipient": delivery.recipient_id,
        "requested_by": delivery.requested_by_id, "attempts": delivery.attempts,
        "sent_at": delivery.sent_at,
    }, workspace_id=delivery.workspace_id)
