"""Demo BI data: a generated sample imported through the real pipeline (idempotent)."""

import tempfile
from pathlib import Path

from django.core.files import File

from analytics.models import ImportJob
from analytics.pipeline.run import run_jobs
from analytics.sample import generate
from analytics.services.imports import import_jobs_create
from workspaces.models import Workspace

DEMO_WORKSPACE = "acme-steel"


def seed(out) -> None:
    workspace = Workspace.objects.filter(slug=DEMO_WORKSPACE).first()
    if workspace is None or ImportJob.objects.filter(workspace=workspace).exists():
        return
    with tempfile.TemporaryDirectory() as folder:
        files = generate(Path(folder), sales_rows=6_000, inventory_rows=500, clients=40,
                         seed=2024)
        with files.inventory.open("rb") as inventory, files.sales.open("rb") as sales:
            jobs = import_jobs_create(
                workspace=workspace, enqueue=False,
                uploads={"inventory": File(inventory, name=files.inventory.name),
                         "sales": File(sales, name=files.sales.name)})
        run_jobs([job.pk for job in jobs])
    for job in jobs:
        job.refresh_from_db()
        out.write(f"Demo BI import #{job.pk} ({job.dataset}) into {DEMO_WORKSPACE}: "
                  f"{job.message}\n")
