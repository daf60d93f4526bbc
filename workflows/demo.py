"""Demo workflows in the demo workspace, built, published and deployed through the services.

* **Nightly import → report → email**: at 02:00 (America/Sao_Paulo) import the demo
  sales file (stored as a workspace file; it is the very file the analytics demo
  loaded, so the import finds it a duplicate and loads nothing), start a run of the
  demo report "Client sales performance", and email the workspace owner.
* **Platform health check**: GET the platform's own ``/health/``, pick the statuses
  with a JSON transform, and branch: healthy → a summary; down → an email to the
  owner.  Started by hand (manual trigger) or by a webhook (bearer token).  The HTTP
  node refuses loopback unless allowed: under DEBUG (``make run``)
  ``WORKFLOW_HTTP_ALLOWED_HOSTS`` defaults to ``127.0.0.1:$WEB_PORT`` and
  ``localhost:$WEB_PORT``.

Everything runs offline (emails go to ``var/mail/`` under DEBUG).  Idempotent: a
workflow that exists by name is left as it is.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.core.files import File as DjangoFile

from analytics.demo import DEMO_WORKSPACE
from workspaces.models import Workspace

NIGHTLY = "Nightly import → report → email"
HEALTH = "Platform health check"
DEMO_REPORT = "Client sales performance"  # made by reports.demo
SALES_FILE = "demo-sales.csv"
TIMEZONE = "America/Sao_Paulo"


def seed(out) -> None:
    from workflows.models import Workflow

    workspace = Workspace.objects.filter(slug=DEMO_WORKSPACE).first()
    if workspace is None:
        return
    owner = _owner(workspace)
    existing = set(Workflow.objects.filter(workspace=workspace, name__in=[NIGHTLY, HEALTH])
                   .values_list("name", flat=True))
    if NIGHTLY not in existing:
        line = _nightly(workspace, owner)
        if line:
            out.write(line + "\n")
    if HEALTH not in existing:
        out.write(_health(workspace, owner) + "\n")


def _owner(workspace):
    from accounts.models import User

    return User.objects.filter(email=f"owner@{DEMO_WORKSPACE}.local").first() or \
        workspace.memberships.filter(role="owner").first().user


def _build(workspace, owner, *, name: str, description: str, nodes, edges, **fields):
    """A draft graph through the definition services, published and deployed."""
    from workflows.services import definitions

    workflow = definitions.workflow_create(workspace=workspace, by=owner, name=name,
                                           description=description, status="active",
                                           timezone=TIMEZONE, **fields)
    made = {}
    for n, (key, type_, node_name, config) in enumerate(nodes):
        made[key] = definitions.node_create(workflow=workflow, by=owner, key=key, type=type_,
                                            name=node_name, config=config,
                                            position_x=220 * n, position_y=0)
    for source, target, port in edges:
        definitions.connection_create(workflow=workflow, by=owner, source=made[source],
                                      target=made[target], source_output=port)
    version = definitions.workflow_publish(workflow=workflow, by=owner, note="Demo")
    definitions.workflow_deploy(workflow=workflow, version=version, by=owner)
    return workflow, version


# --- the nightly chain ----------------------------------------------------------------------


def _sales_file(workspace, owner):
    """The demo's sales sample as a workspace file (the bytes analytics.demo imported)."""
    from analytics.sample import generate
    from workspaces.models import File
    from workspaces.services.files import file_store

    stored = File.objects.filter(workspace=workspace, name=SALES_FILE).first()
    if stored is not None:
        return stored
    with tempfile.TemporaryDirectory() as folder:
        # The same arguments as analytics.demo: the same file, byte for byte.
        files = generate(Path(folder), sales_rows=6_000, inventory_rows=500, clients=40,
                         seed=2024)
        with files.sales.open("rb") as handle:
            return file_store(workspace=workspace, by=owner, name=SALES_FILE,
                              upload=DjangoFile(handle, name=SALES_FILE))


def _nightly(workspace, owner) -> str:
    from reports.models import ReportDefinition
    from workflows.services.triggers import trigger_create

    report = ReportDefinition.objects.filter(workspace=workspace, name=DEMO_REPORT).first()
    if report is None:
        return f"Demo workflow \"{NIGHTLY}\" skipped: no demo report \"{DEMO_REPORT}\"."
    sales = _sales_file(workspace, owner)
    nodes = [
        ("start", "trigger", "Every night", {}),
        ("import_sales", "import_csv", "Import the sales file",
         {"file_id": sales.pk, "dataset": "sales", "mode": "append"}),
        ("report", "run_report", "Run the client sales report", {"report_id": report.pk}),
        ("email", "send_email", "Tell the owner", {
            "to": owner.email,
            "subject": "Nightly sales: import #{{ nodes.import_sales.output.job_id }}, "
                       "report run #{{ nodes.report.output.run_id }}",
            "text": "Good morning,\n\nTonight's import of {{ nodes.import_sales.output."
                    "dataset }} is {{ nodes.import_sales.output.status }} (job #{{ nodes."
                    "import_sales.output.job_id }}) and the report \"{{ nodes.report.output."
                    "report }}\" is {{ nodes.report.output.status }} (run #{{ nodes.report."
                    "output.run_id }}); its recipients get it when it is built.\n\n"
                    "Execution {{ execution.id }}, trace {{ execution.trace_id }}.\n"}),
    ]
    edges = [("start", "import_sales", "main"), ("import_sales", "report", "main"),
             ("report", "email", "main")]
    workflow, version = _build(
        workspace, owner, name=NIGHTLY, nodes=nodes, edges=edges,
        description="Import the day's sales file, run the client sales report, and email "
                    "the owner. Runs at 02:00 São Paulo time.")
    trigger_create(workflow=workflow, kind="schedule", by=owner, name="Every night at 02:00",
                   config={"cron": "0 2 * * *", "timezone": TIMEZONE})
    return (f"Demo workflow \"{NIGHTLY}\" in {DEMO_WORKSPACE}: version {version.number} "
            f"deployed, schedule 0 2 * * * ({TIMEZONE}), file #{sales.pk}, report "
            f"#{report.pk}, email to {owner.email}.")


# --- HTTP → transform → branch ----------------------------------------------------------------


def health_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('WEB_PORT') or 8000}/health/"


def _health(workspace, owner) -> str:
    from workflows.services.triggers import trigger_create

    nodes = [
        ("start", "trigger", "Run now or by webhook", {}),
        # 503 is an answer too (something is down): the branch below handles it.
        ("fetch", "http_request", "GET /health/",
         {"method": "GET", "url": health_url(), "expected_status": [200, 503],
          "timeout": 10}),
        ("pick", "json_transform", "Pick the statuses",
         {"expression": "{status: json.status, database: json.checks.database.status, "
                        "broker: json.checks.broker.status}"}),
        ("check", "condition", "All up?",
         {"rules": [{"left": "{{ nodes.pick.output.status }}", "operator": "equals",
                     "right": "ok"}]}),
        ("healthy", "set_values", "Summary",
         {"values": {"healthy": True, "checked": "{{ execution.id }}"}}),
        ("alert", "send_email", "Alert the owner", {
            "to": owner.email, "subject": "Synapscale health check: something is down",
            "text": "database: {{ nodes.pick.output.database }}, broker: "
                    "{{ nodes.pick.output.broker }} (execution {{ execution.id }})."}),
    ]
    edges = [("start", "fetch", "main"), ("fetch", "pick", "main"), ("pick", "check", "main"),
             ("check", "healthy", "true"), ("check", "alert", "false")]
    workflow, version = _build(
        workspace, owner, name=HEALTH, nodes=nodes, edges=edges,
        description="Call the platform's own /health/, pick the statuses, and branch: "
                    "a summary when all is up, an email to the owner when not.",
        retry_policy={"max_attempts": 3, "backoff": 2, "jitter": 0.2, "max_delay": 30})
    trigger_create(workflow=workflow, kind="manual", by=owner, name="Run now")
    hook = trigger_create(workflow=workflow, kind="webhook", by=owner, name="Webhook",
                          config={"auth": "token"})
    return (f"Demo workflow \"{HEALTH}\" in {DEMO_WORKSPACE}: version {version.number} "
            f"deployed, GET {health_url()}; manual trigger, webhook POST "
            f"/api/v1/hooks/workflows/{hook.webhook_token}/ with Authorization: Bearer "
            f"{hook.new_secret}")
