"""Wait / delay: pause the execution for a while, or until a moment, holding no worker.

The node returns ``NodeResult(wait_until=...)``; the engine leaves its span
``pending`` until then and resumes the execution (a Celery ETA for short waits,
the reaper for long ones).  Its input passes through as its output.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from . import registry
from .base import NodeContext, NodeError, NodeResult, NodeType

MAX_WAIT = 30 * 86_400  # seconds: a month


@registry.register
class WaitNode(NodeType):
    key = "wait"
    name = "Wait"
    category = "core"
    description = ("Pauses the execution for a number of seconds, or until a date and time "
                   "(ISO 8601), without holding a worker; its input passes through.")
    config_schema = {
        "type": "object",
        "properties": {
            "seconds": {"type": "number", "minimum": 0, "maximum": MAX_WAIT,
                        "description": "How long to wait."},
            "until": {"type": "string",
                      "description": "Or: when to go on, e.g. 2026-01-31T09:00:00Z."},
        },
        "additionalProperties": False,
    }

    def run(self, context: NodeContext) -> NodeResult:
        config = context.config
        if config.get("until"):
            try:
                moment = datetime.fromisoformat(str(config["until"]))
            except ValueError as exc:
                raise NodeError(f"until: {config['until']!r} is not an ISO 8601 date and "
                                "time.", retryable=False) from exc
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment, timezone.get_current_timezone())
        else:
            seconds = config.get("seconds", 0)
            if not isinstance(seconds, int | float) or isinstance(seconds, bool) \
                    or not 0 <= seconds <= MAX_WAIT:
                raise NodeError(f"seconds: a number from 0 to {MAX_WAIT}, not {seconds!r}.",
                                retryable=False)
            moment = timezone.now() + timedelta(seconds=seconds)
        return NodeResult(output=context.main, wait_until=moment)
