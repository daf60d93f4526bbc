"""Ownership of a queued job by one worker, for tasks that may be delivered twice.

A session-level PostgreSQL advisory lock per (namespace, id): held while the
worker runs the job, and gone with the worker's database session if it dies,
which is how a redelivered task tells a dead owner from a live one.  Other
databases have no such lock: every call succeeds and callers fall back on
heartbeats or timeouts.
"""

from django.db import connection


def job_lock_take(namespace: int, job_id: int) -> bool:
    """Take the job's lock for this worker; False if a live worker holds it."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [namespace, job_id])
        return cursor.fetchone()[0]


def job_lock_release(namespace: int, job_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [namespace, job_id])


def job_lock_held_elsewhere(namespace: int, job_id: int) -> bool:
    """True when a live worker holds the job (PostgreSQL); False where it cannot tell."""
    if not job_lock_take(namespace, job_id):
        return True
    job_lock_release(namespace, job_id)
    return False
