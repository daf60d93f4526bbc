"""Exports: the file holds exactly the matching events (CSV and Parquet read back), a
redelivered job does not redo a finished export, a failure is recorded without a
traceback, and the API and admin create, show and serve them within the workspace."""

import csv
import io
import json
from datetime import UTC, datetime
from unittest import mock

import pyarrow.parquet as pq
import pytest
from django.urls import reverse

from analytics.models import Export
from analytics.services import exports
from analytics.tasks_dashboards import run_export
from tests.contract.isolation import make_tenant
from tests.factories import WorkspaceFactory
from tests.factories.analytics_dashboards import ExportFactory, make_events

pytestmark = pytest.mark.django_db
API = "/api/v1/analytics/exports"


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


@pytest.fixture
def workspace():
    workspace = WorkspaceFactory()
    make_events(workspace, *[
        {"timestamp": at(1 + n % 4, n % 24), "distinct_id": f"p{n}", "session_id": f"s{n}",
         "properties": {"plan": "pro" if n % 2 else "free", "price": n, "note": "olá, \"x\""}}
        for n in range(12)])
    make_events(workspace, {"name": "signup", "timestamp": at(2)})
    make_events(WorkspaceFactory(), {"timestamp": at(2), "properties": {"plan": "pro"}})
    return workspace


def expected_rows(workspace):
    rows = [(n, at(1 + n % 4, n % 24)) for n in range(12) if n % 2 and at(1 + n % 4) < at(4)]
    return sorted(rows, key=lambda row: row[1])


def test_csv_holds_exactly_the_matching_events_in_time_order(
        workspace, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        export = exports.export_create(
            workspace=workspace, event_name="pageview",
            filters=[{"property": "plan", "op": "eq", "value": "pro"}],
            date_from=at(1, 0), date_to=at(4, 0))
    export.refresh_from_db()
    assert export.status == Export.Status.SUCCEEDED and export.finished_at >= export.started_at
    with export.file.open("rb") as stored:
        rows = list(csv.DictReader(io.StringIO(stored.read().decode("utf-8"))))
    expected = expected_rows(workspace)
    assert export.row_count == len(rows) == len(expected) > 0
    assert [json.loads(r["properties"])["price"] for r in rows] == [n for n, _ in expected]
    assert [datetime.fromisoformat(r["timestamp"]) for r in rows] == [t for _, t in expected]
    assert list(rows[0]) == list(exports.COLUMNS)
    assert json.loads(rows[0]["properties"])["note"] == 'olá, "x"'


def test_parquet_is_written_in_row_groups_and_reads_back(workspace, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_ROWS", 5)
    export = ExportFactory(workspace=workspace, format=Export.Format.PARQUET, event_name="")
    assert exports.export_run(export.pk) == Export.Status.SUCCEEDED
    export.refresh_from_db()
    with export.file.open("rb") as stored:
        parquet = pq.ParquetFile(io.BytesIO(stored.read()))
    table = parquet.read()
    assert parquet.num_row_groups == 3 and table.num_rows == export.row_count == 13
    assert table.column_names == list(exports.COLUMNS)
    stamps = table.column("timestamp").to_pylist()
    assert stamps == sorted(stamps) and stamps[0] == at(1, 0)
    assert sorted(table.column("name").to_pylist()).count("signup") == 1
    assert json.loads(table.column("properties")[0].as_py())["note"] == 'olá, "x"'


def test_an_empty_parquet_export_still_has_its_columns(workspace):
    export = ExportFactory(workspace=workspace, format=Export.Format.PARQUET,
                           event_name="never-happened")
    exports.export_run(export.pk)
    export.refresh_from_db()
    with export.file.open("rb") as stored:
        table = pq.read_table(io.BytesIO(stored.read()))
    assert table.num_rows == 0 and table.column_names == list(exports.COLUMNS)


def test_a_redelivered_job_does_not_redo_a_finished_export(workspace):
    export = ExportFactory(workspace=workspace)
    assert run_export.delay(export.pk).get()["status"] == Export.Status.SUCCEEDED
    export.refresh_from_db()
    first = (export.file.name, export.finished_at)
    assert run_export.delay(export.pk).get()["status"] is None
    export.refresh_from_db()
    assert (export.file.name, export.finished_at) == first
    assert exports.export_run(999_999) is None


def test_a_failure_is_recorded_without_a_traceback(workspace):
    export = ExportFactory(workspace=workspace)
    with mock.patch.object(exports, "_write_csv", side_effect=OSError("disk full at /srv")):
        assert exports.export_run(export.pk) == Export.Status.FAILED
    export.refresh_from_db()
    assert export.error.startswith("The export failed (OSError)")
    assert "/srv" not in export.error and "Traceback" not in export.error
    assert not export.file and export.finished_at is not None


def test_the_api_creates_serves_and_scopes_exports(workspace,
                                                   django_capture_on_commit_callbacks):
    tenant = make_tenant()
    make_events(tenant.workspace, {"properties": {"plan": "pro"}}, {"properties": {}})
    client = tenant.clients["member"]
    with django_capture_on_commit_callbacks(execute=True):
        made = client.post(f"{API}/", {
            "workspace": tenant.workspace.pk, "format": "csv",
            "filters": [{"property": "plan", "op": "exists"}]}, format="json")
    assert made.status_code == 201, made.content
    shown = client.get(f"{API}/{made.json()['id']}/").json()
    assert shown["status"] == "succeeded" and shown["row_count"] == 1
    download = client.get(shown["download_url"])
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    assert b"".join(download.streaming_content).decode().count("\n") == 2
    other = make_tenant()
    assert other.clients["owner"].get(f"{API}/{shown['id']}/file/").status_code == 404
    assert other.clients["owner"].get(f"{API}/").json()["results"] == []
    queued = ExportFactory(workspace=tenant.workspace)
    not_ready = client.get(f"{API}/{queued.pk}/file/")
    assert not_ready.status_code == 404 and not_ready.json()["code"] == "export_not_ready"
    assert client.patch(f"{API}/{queued.pk}/", {"event_name": "x"},
                        format="json").status_code == 405
    assert tenant.clients["admin"].delete(f"{API}/{shown['id']}/").status_code == 204


@pytest.mark.parametrize("body, field", [
    ({"format": "xlsx"}, "format"),
    ({"filters": [{"property": "plan", "op": "regex", "value": "p.*"}]}, "filters"),
    ({"date_from": "2026-03-05T00:00:00Z", "date_to": "2026-03-01T00:00:00Z"}, "date_to"),
])
def test_bad_export_requests_are_400_and_write_nothing(body, field):
    tenant = make_tenant()
    response = tenant.clients["member"].post(f"{API}/", {"workspace": tenant.workspace.pk,
                                                         **body}, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]
    assert not Export.objects.exists()


def test_the_admin_queues_and_serves_exports(staff_client, workspace,
                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("admin:analytics_export_add"), {
            "workspace": workspace.pk, "format": "parquet", "event_name": "signup",
            "filters": "[]"}, format="multipart")
    assert response.status_code == 302
    export = Export.objects.get()
    assert export.status == Export.Status.SUCCEEDED and export.row_count == 1
    listing = staff_client.get(reverse("admin:analytics_export_changelist")).content.decode()
    download = reverse("admin:analytics_export_download", args=[export.pk])
    assert download in listing
    served = staff_client.get(download)
    assert served.status_code == 200
    assert served["Content-Type"] == "application/vnd.apache.parquet"
