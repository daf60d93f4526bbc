"""Demo reports over the demo BI data: two scheduled definitions and one built run."""

from accounts.models import User
from analytics.demo import DEMO_WORKSPACE
from reports.models import ReportDefinition
from reports.services.definitions import definition_create
from reports.services.runs import run_create, run_execute
from workspaces.models import Workspace

# The demo sample covers 2024-01-01 to mid-2025; a relative period would find nothing.
DEMO_RANGE = {"date_from": "2024-01-01", "date_to": "2025-06-30"}
DEFINITIONS = (
    ("Monthly inventory aging", "inventory_aging", "0 7 1 * *"),
    ("Client sales performance", "client_sales", "0 7 * * 1"),
)


def seed(out) -> None:
    workspace = Workspace.objects.filter(slug=DEMO_WORKSPACE).first()
    if workspace is None or ReportDefinition.objects.filter(workspace=workspace).exists():
        return
    owner = User.objects.get(email=f"owner@{DEMO_WORKSPACE}.local")
    admin = User.objects.get(email=f"admin@{DEMO_WORKSPACE}.local")
    definitions = [
        definition_create(workspace=workspace, recipients=[owner, admin], name=name,
                          kind=kind, parameters=DEMO_RANGE, schedule_cron=cron,
                          schedule_timezone="America/Sao_Paulo", owner=owner)
        for name, kind, cron in DEFINITIONS]
    run, _ = run_create(definitions[0], trigger="manual", requested_by=owner)
    run = run_execute(run.pk) or run
    out.write(f"Demo reports in {DEMO_WORKSPACE}: {', '.join(d.name for d in definitions)}; "
              f"run #{run.pk} of the first is {run.status}.\n")
