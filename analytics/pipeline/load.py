"""From staging tables into the BI tables: clients, then one INSERT ... SELECT per job.

Runs inside the caller's transaction, so a job's rows, the clients it
creates and the rows it replaces change together or not at all.
"""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import Exists, OuterRef
from django.utils import timezone

from ..models import Client, ImportJob, InventoryRecord, SaleRecord
from .staging import MOMENT, Staging

TABLES = {"inventory": InventoryRecord, "sales": SaleRecord}
CLIENT_NAME = re.compile(r"^Cliente ([0-9]+)$")
CLIENTS = Client._meta.db_table


def lock_workspace(workspace_id: int) -> None:
    """Serialise loads per workspace, so client numbering cannot race."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('analytics.load'), %s)",
                           [workspace_id])
    # SQLite: transactions are IMMEDIATE (see settings), so writers already queue.


def clients_add(workspace_id: int, stagings: list[Staging]) -> list[int]:
    """Create (unnamed) the clients the staged rows name and the workspace lacks.

    Codes come from rows whose code is well-formed, whatever their other
    fields; ``clients_settle`` removes those that end up with no rows.
    """
    codes = set().union(*(s.client_codes for s in stagings))
    codes -= set(Client.objects.filter(workspace_id=workspace_id)
                 .values_list("code", flat=True))
    created = Client.objects.bulk_create(
        [Client(workspace_id=workspace_id, code=code, name="") for code in sorted(codes)],
        batch_size=1000)
    return [client.pk for client in created]


def clients_settle(workspace_id: int, new_ids: list[int]) -> int:
    """Drop new clients no loaded row uses, and name the rest ``Cliente N``.

    N runs in client-code order, as the predecessor did (``'Cliente ' ||
    ROW_NUMBER() OVER (ORDER BY cod_cliente)``), continuing after the
    workspace's existing clients; existing clients keep their names.
    """
    if not new_ids:
        return 0
    new = Client.objects.filter(pk__in=new_ids)
    # NOT EXISTS probes the client index per new client; NOT IN over a million rows
    # cannot be hashed in work_mem and rescanned them per client (75 s for 2,000).
    new.exclude(Exists(SaleRecord.objects.filter(client_id=OuterRef("pk")))) \
        .exclude(Exists(InventoryRecord.objects.filter(client_id=OuterRef("pk")))) \
        ._raw_delete(connection.alias)
    existing = Client.objects.filter(workspace_id=workspace_id).exclude(pk__in=new_ids)
    numbered = [int(m.group(1)) for name in existing.values_list("name", flat=True)
                if (m := CLIENT_NAME.match(name))]
    start = max([existing.count(), *numbered])
    kept = list(new.values_list("pk", flat=True))
    if kept:
        # One statement: a batch creates thousands of clients, a query each took seconds.
        marks = ", ".join(["%s"] * len(kept))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {CLIENTS} SET name = 'Cliente ' || (n.rn + %s) FROM ("
                f"SELECT id, ROW_NUMBER() OVER (ORDER BY code) AS rn FROM {CLIENTS} "
                f"WHERE id IN ({marks})) AS n WHERE {CLIENTS}.id = n.id", [start, *kept])
    return len(kept)


def load_rows(job: ImportJob, staging: Staging, tz_name: str) -> int:
    """Insert the job's valid staged rows; the count tells how many were valid."""
    model = TABLES[job.dataset]
    fields = [c.name for c in staging.columns if c.name != "client_code"] + [MOMENT]
    job.source_time_zone = tz_name  # the zone the rows' times were read in
    if connection.vendor == "postgresql":
        return _copy_rows(job, staging, model, fields, tz_name)
    values = staging.select_values()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {model._meta.db_table} (workspace_id, import_job_id, client_id, "
            f"{', '.join(fields)}) SELECT %(ws)s, %(job)s, c.id, "
            f"{', '.join(values[f] for f in fields)} FROM {staging.stg} s "
            f"JOIN {CLIENTS} c ON c.workspace_id = %(ws)s "
            f"AND c.code = {values['client_code']} WHERE {staging.valid_sql()}",
            {"ws": job.workspace_id, "job": job.pk, "tz": tz_name})
        return cursor.rowcount


def _copy_rows(job, staging, model, fields, tz_name) -> int:
    """Stream typed rows from the staging connection into the table with COPY."""
    clients = list(Client.objects.filter(workspace_id=job.workspace_id)
                   .values_list("code", "pk"))
    columns = ", ".join(["workspace_id", "import_job_id", "client_id", *fields])
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN (FORMAT binary)") \
                as copy:
            for chunk in staging.valid_rows(fields, clients, tz_name):
                copy.write(chunk)
        return raw.rowcount


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
