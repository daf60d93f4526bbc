"""The BI import pipeline against ``psql \\copy``, on 1,000,000 sales rows, in two shapes.

Real extracts carry the predecessor's ``data TIMESTAMP`` (``2024-01-01
00:01:05``); older exports carry dates only.  Each shape is a generated file
(2,000 clients, ~3,000 SKUs) loaded by both sides in the same run and
database.  The ``\\copy`` target is the predecessor's load made fair: the
file's columns with our types (``data`` as the file gives it: ``date`` or
``timestamp``), a client foreign key and the same report indexes (date,
client, SKU, state), with the clients already present.  The pipeline does
everything it does for a user: checksum, staging, validation, client
derivation, load, in a subprocess (``manage.py import_csv``) that reports its
own peak memory.

``BENCH_BI_ROWS`` sets the row count (default 1,000,000) for quicker runs while
iterating; ``BENCH_BI_PROFILE=1`` also writes a cProfile of each import to
``var/bench/`` and prints its top entries.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from django.conf import settings

from analytics.models import Client, ImportJob, InventoryRecord, SaleRecord
from analytics.sample import generate
from workspaces.models import Workspace

from .setup_db import connect_kwargs
from .timing import Result

ROWS = int(os.environ.get("BENCH_BI_ROWS") or 1_000_000)
CLIENTS = 2_000
SKUS = 3_000
PROFILE = os.environ.get("BENCH_BI_PROFILE", "") not in ("", "0")
TARGET_SHARE = 0.6  # the pipeline's rows/s as a share of \copy's
MEMORY_LIMIT_MB = 300
WORKSPACE = "bench-bi"
BENCH_DIR = Path(settings.BASE_DIR) / "var" / "bench"
SAMPLE_DIR = BENCH_DIR / "bi-1m"  # the reports benchmark keeps its inventory file here
# shape: (file has times of day, the baseline's type for ``data``)
SHAPES = {"timestamped": (True, "timestamp"), "date-only": (False, "date")}

BASELINE_DDL = """
DROP TABLE IF EXISTS bench_copy_sales; DROP TABLE IF EXISTS bench_copy_clients;
CREATE TABLE bench_copy_clients (code integer PRIMARY KEY, name varchar(100));
CREATE TABLE bench_copy_sales (id bigserial PRIMARY KEY, sale_date {date_type} NOT NULL,
  client_code integer NOT NULL REFERENCES bench_copy_clients (code)
    DEFERRABLE INITIALLY DEFERRED,
  batch varchar(50) NOT NULL, origin varchar(50) NOT NULL, product_group varchar(100) NOT NULL,
  product varchar(100) NOT NULL, product_code varchar(50) NOT NULL, centre varchar(50) NOT NULL,
  city varchar(100) NOT NULL, state varchar(10) NOT NULL,
  net_weight_tonnes numeric(14, 3) NOT NULL, sku_client_turnover numeric(14, 4) NOT NULL,
  sku varchar(50) NOT NULL);
CREATE INDEX ON bench_copy_sales (sale_date); CREATE INDEX ON bench_copy_sales (client_code);
CREATE INDEX ON bench_copy_sales (sku); CREATE INDEX ON bench_copy_sales (state);
"""
COPY_COLUMNS = ("sale_date, client_code, batch, origin, product_group, product, product_code, "
                "centre, city, state, net_weight_tonnes, sku_client_turnover, sku")


def sample_file(shape: str) -> Path:
    folder = BENCH_DIR / f"bi-{ROWS}-{shape}"
    path = folder / "faturamento 1.csv"
    if not path.exists():
        print(f"generating {ROWS:,} {shape} sales rows in {path}", flush=True)
        generate(folder, sales_rows=ROWS, inventory_rows=1000, clients=CLIENTS, skus=SKUS,
                 timestamps=SHAPES[shape][0], seed=2024)
    return path


def run() -> list[Result]:
    """One result per shape; the timestamped one last, so its rows stay for ``reports``."""
    workspace, _ = Workspace.objects.get_or_create(slug=WORKSPACE,
                                                   defaults={"name": "Benchmark BI"})
    return [_run_shape(shape, workspace) for shape in ("date-only", "timestamped")]


def _run_shape(shape: str, workspace) -> Result:
    path = sample_file(shape)
    _reset(workspace)
    copy_seconds = _psql_copy(path, SHAPES[shape][1])
    _reset(workspace)
    pipeline_seconds, peak_mb, job = _pipeline(path, shape)
    copy_rate, pipeline_rate = ROWS / copy_seconds, ROWS / pipeline_seconds
    share = pipeline_rate / copy_rate
    job_seconds = (job.finished_at - job.started_at).total_seconds() \
        if job and job.finished_at else 0
    figures = (f"pipeline {pipeline_rate:,.0f} rows/s ({pipeline_seconds:.1f}s, "
               f"{job_seconds:.1f}s in the job, peak {peak_mb:.0f} MB, "
               f"{job.rows_imported if job else 0:,} rows) vs psql \\copy "
               f"{copy_rate:,.0f} rows/s ({copy_seconds:.1f}s); share {share:.2f} "
               f"(target >= {TARGET_SHARE}); memory target < {MEMORY_LIMIT_MB} MB; "
               f"load average {os.getloadavg()[0]:.2f}")
    if job is None or job.status != ImportJob.Status.SUCCEEDED or job.rows_imported != ROWS:
        figures += f"; IMPORT DID NOT SUCCEED: {job and job.status} {job and job.message}"
        share = 0.0
    if peak_mb >= MEMORY_LIMIT_MB:
        share = 0.0
    # Expressed as time ratio so the table's "ratio <= target" reads the same.
    return Result(f"BI import, {ROWS:,} {shape} sales rows", figures,
                  pipeline_seconds / copy_seconds if share else float("inf"),
                  round(1 / TARGET_SHARE, 2))


def _reset(workspace) -> None:
    """Start each load from an empty workspace, so neither side pays for the other's rows."""
    SaleRecord.objects.filter(workspace=workspace)._raw_delete("default")
    InventoryRecord.objects.filter(workspace=workspace)._raw_delete("default")
    ImportJob.objects.filter(workspace=workspace).delete()
    Client.objects.filter(workspace=workspace).delete()
    with psycopg.connect(**connect_kwargs(), autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        conn.execute("VACUUM ANALYZE analytics_salerecord")
        conn.execute("VACUUM ANALYZE analytics_inventoryrecord")


def _psql_copy(path: Path, date_type: str) -> float:
    with psycopg.connect(**connect_kwargs(), autocommit=True) as conn:
        conn.execute(BASELINE_DDL.format(date_type=date_type))
        # The client master exists before the load, as the predecessor built it first.
        codes = sorted({int(line.split(b"|")[1]) for line in path.open("rb")
                        if not line.startswith(b"data|")})
        with conn.cursor().copy("COPY bench_copy_clients (code, name) FROM STDIN") as copy:
            for n, code in enumerate(codes, start=1):
                copy.write_row((code, f"Cliente {n}"))
        conn.execute("CHECKPOINT")
    db = connect_kwargs()
    env = {**os.environ, "PGHOST": db.get("host", ""), "PGPORT": str(db.get("port", 5432)),
           "PGUSER": db.get("user", ""), "PGPASSWORD": db.get("password", "")}
    command = (f"\\copy bench_copy_sales ({COPY_COLUMNS}) FROM '{path}' "
               "WITH (FORMAT csv, HEADER true, DELIMITER '|')")
    started = time.perf_counter()
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", db["dbname"], "-c", command],
                   env=env, check=True)
    return time.perf_counter() - started


# Timed inside the process, after Django has started (psql's clock has no such start-up):
# checksum, storing the upload, staging, validation, clients and load are all inside.
# The peak memory is the process's own (RUSAGE_CHILDREN would be the largest child so far).
_TIMED_IMPORT = """
import cProfile, resource, sys, time, django
django.setup()
from django.core.management import call_command
profile = cProfile.Profile() if sys.argv[3] else None
started = time.perf_counter()
if profile:
    profile.enable()
call_command("import_csv", "--workspace", sys.argv[1], "--sales", sys.argv[2],
             stdout=open("/dev/null", "w"))
seconds = time.perf_counter() - started
if profile:
    profile.disable()
    profile.dump_stats(sys.argv[3])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, seconds)
"""


def _pipeline(path: Path, shape: str):
    profile = str(BENCH_DIR / f"bi-import-{shape}.prof") if PROFILE else ""
    done = subprocess.run([sys.executable, "-c", _TIMED_IMPORT, WORKSPACE, str(path), profile],
                          cwd=settings.BASE_DIR, env=os.environ, check=False,
                          capture_output=True, text=True)
    job = ImportJob.objects.filter(workspace__slug=WORKSPACE).order_by("-pk").first()
    try:
        peak_kb, seconds = done.stdout.strip().splitlines()[-1].split()
        peak_kb, seconds = int(peak_kb), float(seconds)
    except (IndexError, ValueError):
        print(done.stderr[-2000:], file=sys.stderr)
        peak_kb, seconds = 0, float("inf")
    if profile:
        import pstats
        print(f"\ncProfile of the {shape} import ({profile}):")
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    return seconds, peak_kb / 1024, job
