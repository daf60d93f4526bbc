"""Each report kind over 1,000,000 sales and 100,000 inventory rows, against its SQL alone.

The report is everything a run does before delivery: the kind's queries and
the Python that shapes their results, the HTML page with inline SVG charts,
the PNG charts for email, a CSV per table and the XLSX workbook.  Its "core
SQL" is the same statements, captured from the run and executed again on
their own (fetching every row).  Target per report: at most core SQL + 2 s,
and under 10 s.
"""

import statistics
import time

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.models import InventoryRecord
from reports import kinds
from reports.data import ReportParameters
from reports.rendering import exports, html
from workspaces.models import Workspace

from . import bi_import
from .timing import Result

RUNS = 3
RENDER_ALLOWANCE_S = 2.0
CEILING_S = 10.0
INVENTORY_ROWS = 100_000


def run() -> list[Result]:
    workspace = Workspace.objects.get(slug=bi_import.WORKSPACE)  # loaded by bi_import
    _ensure_inventory(workspace)
    params = ReportParameters()
    results = []
    for kind, label in kinds.KINDS.items():
        report_s, sql_s = [], []
        for _ in range(RUNS):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                data = kinds.build(kind, workspace.pk, params)
                html.render_html(data)
                html.email_images(data)
                exports.csv_files(data)
                exports.xlsx(data)
                report_s.append(time.perf_counter() - started)
            sql_s.append(_replay([q["sql"] for q in captured.captured_queries]))
        report, sql = statistics.median(report_s), statistics.median(sql_s)
        figures = (f"report {report * 1000:.0f} ms, core SQL {sql * 1000:.0f} ms, "
                   f"difference {(report - sql) * 1000:.0f} ms (allowed "
                   f"{RENDER_ALLOWANCE_S:g} s, ceiling {CEILING_S:g} s), "
                   f"{data.row_count} result rows")
        # Both limits as one ratio to the SQL time: report <= min(SQL + 2 s, 10 s).
        limit = min(sql + RENDER_ALLOWANCE_S, CEILING_S)
        results.append(Result(f"report: {label}", figures, report / sql, round(limit / sql, 2)))
    return results


def _replay(statements: list[str]) -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
            if cursor.description:
                cursor.fetchall()
    return time.perf_counter() - started


def _ensure_inventory(workspace) -> None:
    """100,000 inventory rows of one snapshot, loaded through the pipeline once."""
    if InventoryRecord.objects.filter(workspace=workspace).count() == INVENTORY_ROWS:
        return
    import subprocess
    import sys

    from analytics.sample import generate

    folder = bi_import.SAMPLE_DIR / "inventory-100k"
    files = generate(folder, sales_rows=1, inventory_rows=INVENTORY_ROWS, seed=2025)
    subprocess.run([sys.executable, "manage.py", "import_csv", "--workspace",
                    bi_import.WORKSPACE, "--inventory", str(files.inventory)],
                   cwd=settings.BASE_DIR, check=True, stdout=subprocess.DEVNULL)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE analytics_inventoryrecord")
