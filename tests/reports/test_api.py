"""The reports API: definitions (CRUD, run now), runs and their files, deliveries.

The generic contract and isolation suites cover these resources too; this file
checks what is particular to reports.
"""

import io
import zipfile

import pytest
from django.core import mail
from django.urls import reverse
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from reports.models import ReportDefinition, ReportDelivery, ReportRun
from tests.factories import MembershipFactory, ReportDefinitionFactory, ReportRunFactory

from .conftest import Q1_2025

pytestmark = pytest.mark.django_db
DEFINITIONS = reverse("reports-reportdefinition-list")
RUNS = reverse("reports-reportrun-list")
DELIVERIES = reverse("reports-reportdelivery-list")


def client_as(workspace, role: str):
    user = MembershipFactory(workspace=workspace, role=role).user
    client = APIClient()
    client.force_login(user)
    return client, user


def detail(name: str, pk: int, action: str = "detail") -> str:
    return reverse(f"reports-{name}-{action}", args=[pk])


@pytest.fixture
def member(workspace):
    return client_as(workspace, "member")


def body(workspace, recipients, **extra) -> dict:
    return {"workspace": workspace.pk, "name": "Top clients", "kind": "client_sales",
            "parameters": {"period": "previous_quarter", "top_n": 5},
            "recipients": [u.pk for u in recipients], "schedule_cron": "0 6 * * 1",
            "schedule_timezone": "America/Sao_Paulo", **extra}


def test_creating_a_definition_schedules_it_and_makes_the_caller_owner(workspace, recipients,
                                                                      member):
    client, user = member
    response = client.post(DEFINITIONS, body(workspace, recipients), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["owner"] == user.pk and data["next_run_at"] is not None
    assert data["parameters"] == {"period": "previous_quarter", "top_n": 5}
    definition = ReportDefinition.objects.get(pk=data["id"])
    assert PeriodicTask.objects.get(pk=definition.periodic_task_id).crontab.day_of_week == "1"

    changed = client.patch(detail("reportdefinition", definition.pk),
                           {"schedule_cron": "", "enabled": False}, format="json")
    assert changed.status_code == 200 and changed.json()["next_run_at"] is None
    assert not PeriodicTask.objects.filter(pk=definition.periodic_task_id).exists()


@pytest.mark.parametrize(("field", "value", "message"), [
    ("parameters", {"period": "fortnight"}, "period: 'fortnight' is not one of"),
    ("parameters", {"top_n": "lots", "colour": "red"}, "colour: unknown parameter"),
    ("parameters", ["previous_month"], "Parameters are a JSON object"),
    ("parameters", {"date_from": "2025-13-01"}, "date_from: '2025-13-01' is not a date"),
    ("schedule_cron", "every monday", "Write five fields"),
    ("schedule_cron", "0 99 * * *", "Not a valid crontab expression"),
    ("schedule_timezone", "Brazil/Curitiba", "is not an IANA time zone name"),
])
def test_bad_values_are_a_400_naming_the_field(workspace, recipients, member, field, value,
                                               message):
    response = member[0].post(DEFINITIONS, body(workspace, recipients, **{field: value}),
                              format="json")
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert list(errors) == [field]
    assert any(message in text for text in errors[field]), errors
    assert not ReportDefinition.objects.exists()


def test_recipients_and_owner_outside_the_workspace_are_refused(workspace, recipients, member):
    from tests.factories import WorkspaceFactory

    client, user = member
    elsewhere = WorkspaceFactory()
    MembershipFactory(workspace=elsewhere, user=user)
    outsider = MembershipFactory(workspace=elsewhere).user  # visible to the caller, not a member
    response = client.post(DEFINITIONS, body(workspace, [*recipients, outsider]), format="json")
    assert response.status_code == 400
    assert "not members" in response.json()["errors"]["recipients"][0]
    response = client.post(DEFINITIONS, body(workspace, recipients, owner=outsider.pk),
                           format="json")
    assert response.status_code == 400 and "owner" in response.json()["errors"]


def test_a_name_is_unique_per_workspace(definition, recipients, member):
    response = member[0].post(DEFINITIONS, body(definition.workspace, recipients,
                                                name=definition.name), format="json")
    assert response.status_code == 400 and "non_field_errors" in response.json()["errors"]


def test_run_now_answers_202_then_the_run_is_built_and_sent(definition, member, recipients,
                                                            django_capture_on_commit_callbacks):
    client, user = member
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(detail("reportdefinition", definition.pk, "run"))
    assert response.status_code == 202, response.content
    data = response.json()
    assert data["status"] == "pending" and data["trigger"] == "api"
    assert data["requested_by"] == user.pk and data["parameters"]["date_from"] == "2025-01-01"
    run = ReportRun.objects.get(pk=data["id"])
    assert run.status == ReportRun.Status.SUCCEEDED
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in recipients)

    shown = client.get(detail("reportrun", run.pk)).json()
    assert shown["status"] == "succeeded" and shown["row_count"] == run.row_count
    assert shown["html_url"].endswith(f"/api/v1/reports/runs/{run.pk}/html/")
    assert sorted(shown["delivered_to"]) == sorted(u.email for u in recipients)
    listed = client.get(DELIVERIES, {"run": run.pk}).json()["results"]
    assert {row["status"] for row in listed} == {"sent"} and len(listed) == 2


def test_viewers_and_viewer_keys_cannot_run_reports(definition):
    from tests.factories import ApiKeyFactory

    viewer, _ = client_as(definition.workspace, "viewer")
    raw = ApiKeyFactory(workspace=definition.workspace, role="viewer").raw
    key = APIClient()
    key.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    for client in (viewer, key):
        response = client.post(detail("reportdefinition", definition.pk, "run"))
        assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert not ReportRun.objects.exists()


def test_other_workspaces_cannot_run_or_download(definition):
    from tests.factories import WorkspaceFactory

    stranger, _ = client_as(WorkspaceFactory(), "owner")
    run = ReportRunFactory(definition=definition, workspace=definition.workspace)
    assert stranger.post(detail("reportdefinition", definition.pk, "run")).status_code == 404
    for name in ("html", "csv", "xlsx"):
        assert stranger.get(detail("reportrun", run.pk, name)).status_code == 404


def test_downloads(definition, django_capture_on_commit_callbacks):
    viewer, _ = client_as(definition.workspace, "viewer")
    with django_capture_on_commit_callbacks(execute=True):
        from reports.services.runs import run_request

        run = run_request(definition, trigger=ReportRun.Trigger.MANUAL)
    page = viewer.get(detail("reportrun", run.pk, "html"))
    assert page.status_code == 200 and page["Content-Type"] == "text/html; charset=utf-8"
    assert "sandbox" in page["Content-Security-Policy"]
    assert b'class="chart-svg"' in page.content

    csvs = viewer.get(detail("reportrun", run.pk, "csv"), HTTP_ACCEPT="text/csv")
    assert csvs.status_code == 200 and csvs["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(csvs.streaming_content)))
    assert "sales_by_state.csv" in archive.namelist()

    workbook = viewer.get(detail("reportrun", run.pk, "xlsx"))
    assert workbook.status_code == 200
    assert workbook["Content-Type"].startswith("application/vnd.openxmlformats")
    assert b"".join(workbook.streaming_content)[:2] == b"PK"


def test_missing_files_are_a_404_in_the_error_shape(definition):
    viewer, _ = client_as(definition.workspace, "viewer")
    run = ReportRunFactory(definition=definition, workspace=definition.workspace,
                           status=ReportRun.Status.PENDING, html="", csv_file="", xlsx_file="")
    for name in ("html", "csv", "xlsx"):
        response = viewer.get(detail("reportrun", run.pk, name))
        assert response.status_code == 404
        assert response.json()["code"] == "no_artefact"
    shown = viewer.get(detail("reportrun", run.pk)).json()
    assert shown["html_url"] is shown["csv_url"] is shown["xlsx_url"] is None


def test_runs_and_deliveries_are_read_only(definition):
    member, _ = client_as(definition.workspace, "admin")
    run = ReportRunFactory(definition=definition, workspace=definition.workspace)
    assert member.post(RUNS, {}, format="json").status_code == 405
    assert member.delete(detail("reportrun", run.pk)).status_code == 405
    assert member.post(DELIVERIES, {}, format="json").status_code == 405
    assert ReportDelivery.objects.count() == 0


def test_runs_filter_by_definition_and_status(definition, workspace):
    viewer, _ = client_as(workspace, "viewer")
    other = ReportDefinitionFactory(workspace=workspace)
    mine = ReportRunFactory(definition=definition, workspace=workspace)
    ReportRunFactory(definition=other, workspace=workspace)
    failed = ReportRunFactory(definition=definition, workspace=workspace,
                              status=ReportRun.Status.FAILED)
    ids = [r["id"] for r in viewer.get(RUNS, {"definition": definition.pk}).json()["results"]]
    assert sorted(ids) == sorted([mine.pk, failed.pk])
    ids = [r["id"] for r in viewer.get(RUNS, {"status": "failed"}).json()["results"]]
    assert ids == [failed.pk]


def test_q1_parameters_fixture_is_what_the_definition_stores(definition):
    assert definition.parameters == Q1_2025
