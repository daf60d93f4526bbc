"""Platform nodes start work through the owning app's service, in their own workspace only."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from analytics.formats import header_line
from analytics.models import ImportJob
from reports.models import ReportRun
from tests.factories import FileFactory, ReportDefinitionFactory, WorkspaceFactory
from workflows.nodes.base import NodeContext, NodeError
from workflows.nodes.platform import ImportCsvNode, RunReportNode, SendEmailNode

pytestmark = pytest.mark.django_db


def run(node_type, config, workspace, *, key="4bf92f35-send-1"):
    context = NodeContext(workspace_id=workspace.pk, execution_id=1, node_key="n",
                          attempt=1, config=config, input={"main": None},
                          idempotency_key=key)
    return node_type().run(context)


def test_side_effecting_nodes_say_so():
    assert RunReportNode.side_effects and ImportCsvNode.side_effects
    assert SendEmailNode.side_effects


# --- run_report ---------------------------------------------------------------------------


def test_run_report_starts_a_run_of_the_workspaces_definition():
    definition = ReportDefinitionFactory()
    output = run(RunReportNode, {"report_id": definition.pk}, definition.workspace).output
    created = ReportRun.objects.get(pk=output["run_id"])
    assert created.definition == definition and created.workspace == definition.workspace
    assert output == {"run_id": created.pk, "status": "pending", "report_id": definition.pk,
                      "report": definition.name, "error": None}


def test_run_report_refuses_another_workspaces_definition_like_a_missing_one():
    foreign = ReportDefinitionFactory()
    mine = WorkspaceFactory()
    with pytest.raises(NodeError) as error:
        run(RunReportNode, {"report_id": foreign.pk}, mine)
    assert str(error.value) == (f"report_id: there is no report definition #{foreign.pk} in "
                                "this workspace.")
    assert error.value.retryable is False
    with pytest.raises(NodeError, match="there is no report definition #999999 in"):
        run(RunReportNode, {"report_id": 999_999}, mine)
    assert not ReportRun.objects.filter(definition=foreign).exists()


# --- import_csv ---------------------------------------------------------------------------


def _sales_file(workspace, **fields):
    content = f"{header_line('sales')}\n".encode()
    return FileFactory(workspace=workspace, name="faturamento.csv",
                       file=SimpleUploadedFile("faturamento.csv", content, "text/csv"),
                       **fields)


def test_import_csv_starts_an_import_job_from_a_workspace_file():
    workspace = WorkspaceFactory()
    stored = _sales_file(workspace)
    output = run(ImportCsvNode, {"file_id": stored.pk, "dataset": "sales"}, workspace).output
    job = ImportJob.objects.get(pk=output["job_id"])
    assert job.workspace == workspace and job.dataset == "sales"
    assert job.original_name == "faturamento.csv" and job.status == "pending"
    assert output["status"] == "pending" and output["duplicate_of"] is None

    again = run(ImportCsvNode, {"file_id": stored.pk, "dataset": "sales"}, workspace).output
    assert again["status"] == "duplicate" and again["duplicate_of"] == job.pk
    assert "already imported" in again["message"]


def test_import_csv_refuses_other_workspaces_and_inactive_files():
    workspace = WorkspaceFactory()
    foreign = _sales_file(WorkspaceFactory())
    with pytest.raises(NodeError, match=f"^file_id: there is no file #{foreign.pk} in this"):
        run(ImportCsvNode, {"file_id": foreign.pk, "dataset": "sales"}, workspace)
    archived = _sales_file(workspace, status="archived")
    with pytest.raises(NodeError, match="is archived, not active"):
        run(ImportCsvNode, {"file_id": archived.pk, "dataset": "sales"}, workspace)
    assert not ImportJob.objects.exists()


def test_import_csv_passes_on_the_services_refusal():
    workspace = WorkspaceFactory()
    empty = FileFactory(workspace=workspace, file=SimpleUploadedFile("e.csv", b"\n"))
    with pytest.raises(NodeError, match=r"^file: The file is empty") as error:
        run(ImportCsvNode, {"file_id": empty.pk, "dataset": "sales"}, workspace)
    assert error.value.retryable is False


# --- send_email ---------------------------------------------------------------------------


def test_send_email_sends_text_and_html_with_the_idempotency_key(mailoutbox, settings):
    workspace = WorkspaceFactory()
    output = run(SendEmailNode, {"to": ["ops@example.com", "cfo@example.com"],
                                 "cc": "audit@example.com",
                                 "subject": "Nightly import\nfinished",
                                 "text": "3 files loaded.", "html": "<p>3 files loaded.</p>"},
                 workspace).output
    assert output == {"sent": True, "to": ["ops@example.com", "cfo@example.com"],
                      "cc": ["audit@example.com"], "subject": "Nightly import finished"}
    [message] = mailoutbox
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert message.to == ["ops@example.com", "cfo@example.com"]
    assert message.cc == ["audit@example.com"]
    assert message.body == "3 files loaded."
    assert message.alternatives[0][1] == "text/html"
    assert message.extra_headers["X-Idempotency-Key"] == "4bf92f35-send-1"


def test_send_email_refuses_bad_addresses_naming_the_field(mailoutbox):
    with pytest.raises(NodeError, match=r"^bcc: 'not-an-address' is not an email address"):
        run(SendEmailNode, {"to": "ops@example.com", "bcc": ["not-an-address"],
                            "subject": "x", "text": "y"}, WorkspaceFactory())
    assert mailoutbox == []
