"""The workflow engine: runs a version's graph on Celery, one task per ready node.

* ``coordinator`` - ``advance(execution_id)`` decides what is ready from the database
  under a lock on the execution; ``admit`` applies the concurrency limit.
* ``runner`` - ``run_span(span_id)`` claims a span, runs its node once, records it.
* ``reaper`` - requeues what dead workers and lost messages left behind.
* ``retry``, ``timeouts``, ``data``, ``locking``, ``plan``, ``queue`` - the pieces.

Services (``workflows.services.executions``) start, cancel and re-run executions;
tasks (``workflows.tasks``) are thin wrappers over ``advance`` and ``run_span``.
"""

from .coordinator import admit, advance

__all__ = ["admit", "advance"]
