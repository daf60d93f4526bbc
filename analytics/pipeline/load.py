"""From staging tables into the BI tables: derive clients, then one INSERT ... SELECT each.

Runs inside the caller's transaction, so a job's rows, the clients it
creates and the rows it replaces change together or not at all.
"""

from __future__ import annotations

import re

from django.db import connection
from django.utils import timezone

from ..models import Client, ImportJob, InventoryRecord, SaleRecord
from .staging import Staging

TABLES = {"inventory": InventoryRecord, "sales": SaleRecord}
CLIENT_NAME = re.compile(r"^Cliente ([0-9]+)$")


def lock_workspace(workspace_id: int) -> None:
    """Serialise loads per workspace, so client numbering cannot race."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('analytics.load'), %s)",
                           [workspace_id])
    # SQLite: transactions are IMMEDIATE (see settings), so writers already queue.


def derive_clients(workspace_id: int, stagings: list[Staging]) -> int:
    """Create the clients the staged rows name and the workspace lacks.

    New clients are named ``Cliente N`` in client-code order, as the
    predecessor did (``'Cliente ' || ROW_NUMBER() OVER (ORDER BY cod_cliente)``),
    with N continuing after the workspace's existing clients; existing
    clients keep their names.
    """
    if not stagings:
        return 0
    existing = Client.objects.filter(workspace_id=workspace_id)
    numbered = [int(m.group(1)) for name in existing.values_list("name", flat=True)
                if (m := CLIENT_NAME.match(name))]
    start = max([existing.count(), *numbered])
    codes = " UNION ".join(f"SELECT {s.select_values()['client_code']} AS code FROM {s.stg} s"
                           for s in stagings)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Client._meta.db_table} (workspace_id, code, name, created_at, "
            f"updated_at) SELECT %(ws)s, code, 'Cliente ' || (%(start)s + ROW_NUMBER() OVER "
            f"(ORDER BY code)), %(now)s, %(now)s FROM (SELECT DISTINCT code FROM ({codes}) AS u) "
            f"AS staged WHERE NOT EXISTS "
            f"(SELECT 1 FROM {Client._meta.db_table} c WHERE c.workspace_id = %(ws)s AND "
            f"c.code = staged.code) ORDER BY code",
            {"ws": workspace_id, "start": start, "now": now, "tz": "UTC"})
        return cursor.rowcount


def load_rows(job: ImportJob, staging: Staging, tz_name: str) -> int:
    model = TABLES[job.dataset]
    values = staging.select_values()
    fields = [c.name for c in staging.columns if c.name != "client_code"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {model._meta.db_table} (workspace_id, import_job_id, client_id, "
            f"{', '.join(fields)}) SELECT %(ws)s, %(job)s, c.id, "
            f"{', '.join(values[f] for f in fields)} FROM {staging.stg} s "
            f"JOIN {Client._meta.db_table} c ON c.workspace_id = %(ws)s "
            f"AND c.code = {values['client_code']}",
            {"ws": job.workspace_id, "job": job.pk, "tz": tz_name})
        return cursor.rowcount


def remove_replaced(job: ImportJob) -> int:
    """Delete the rows of the import ``job`` replaces, and mark that import replaced."""
    if job.replaces_id is None:
        return 0
    table = TABLES[job.dataset]._meta.db_table
    with connection.cursor() as cursor:  # one statement, not a fetch-then-delete
        cursor.execute(f"DELETE FROM {table} WHERE import_job_id = %s", [job.replaces_id])
        deleted = cursor.rowcount
    ImportJob.objects.filter(pk=job.replaces_id).update(
        status=ImportJob.Status.REPLACED, updated_at=timezone.now(),
        message=f"Rows replaced by import #{job.pk}.")
    return deleted
