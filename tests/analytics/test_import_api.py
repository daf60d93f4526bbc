"""BI imports through the API: upload, poll, fetch the error report; tenancy and roles."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from analytics.models import ImportJob, SaleRecord
from tests.factories import (
    ApiKeyFactory,
    ImportJobFactory,
    InventoryRecordFactory,
    MembershipFactory,
    RoleFactory,
    SaleRecordFactory,
    UserFactory,
    WorkspaceFactory,
)

from .helpers import csv_file, sale, stock

pytestmark = pytest.mark.django_db

S = ImportJob.Status
IMPORTS = reverse("analytics-importjob-list")


def job_url(pk: int) -> str:
    return reverse("analytics-importjob-detail", args=[pk])


def errors_url(pk: int) -> str:
    return reverse("analytics-importjob-errors", args=[pk])


def signed_in(workspace, role: str, custom_role=None) -> APIClient:
    user = UserFactory()
    MembershipFactory(workspace=workspace, user=user, role=role, custom_role=custom_role)
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def workspace():
    return WorkspaceFactory()


@pytest.fixture
def member(workspace):
    return signed_in(workspace, "member")


def upload(client, workspace, dataset="sales", file=None, capture=None, **fields):
    body = {"workspace": workspace.pk, "dataset": dataset, **fields}
    if file is not None:
        body["file"] = file
    if capture is None:
        return client.post(IMPORTS, body, format="multipart")
    with capture(execute=True):  # the commit that queues the (eager) Celery task
        return client.post(IMPORTS, body, format="multipart")


def assert_error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"status", "code", "message", "errors", "request_id"}
    return body


def test_an_upload_creates_a_job_that_runs_to_success(member, workspace,
                                                      django_capture_on_commit_callbacks):
    response = upload(member, workspace, file=csv_file("sales", [sale(), sale(batch="B2")]),
                      capture=django_capture_on_commit_callbacks)
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["dataset"], created["original_name"], created["mode"]) == (
        "sales", "faturamento 1.csv", "append")

    job = member.get(job_url(created["id"])).json()
    assert (job["status"], job["progress"], job["rows_total"], job["rows_imported"],
            job["rows_rejected"], job["clients_created"]) == ("succeeded", 100, 2, 2, 0, 1)
    assert job["message"].startswith("Loaded 2 of 2 rows")
    assert job["errors_preview"] == [] and job["errors_url"] is None
    assert job["created_by"] is not None

    rows = member.get(job["rows_url"]).json()["results"]
    assert sorted(r["batch"] for r in rows) == ["B2", "L241137302"]
    assert {r["import_job"] for r in rows} == {created["id"]}


def test_a_bad_file_fails_and_its_report_names_the_lines(member, workspace,
                                                         django_capture_on_commit_callbacks):
    rows = [sale(), sale(sale_date="2024-02-30"), sale(), sale(net_weight_tonnes="-1")]
    response = upload(member, workspace, file=csv_file("sales", rows),
                      capture=django_capture_on_commit_callbacks)
    job = member.get(job_url(response.json()["id"])).json()
    assert job["status"] == "failed" and "nothing was loaded" in job["message"]
    assert (job["error_count"], job["rows_rejected"], job["rows_imported"]) == (2, 2, 0)
    assert [(e["line"], e["column"]) for e in job["errors_preview"]] == [
        (3, "data"), (5, "zs_peso_liquido")]
    assert job["errors_url"].endswith(errors_url(job["id"]))

    report = member.get(errors_url(job["id"]))
    assert report.status_code == 200
    assert report["Content-Type"].startswith("text/csv")
    assert report["Content-Disposition"] == 'attachment; filename="faturamento 1-errors.csv"'
    lines = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert lines[0] == ["line", "column", "value", "reason"]
    assert [(line[0], line[1], line[2]) for line in lines[1:]] == [
        ("3", "data", "2024-02-30"), ("5", "zs_peso_liquido", "-1")]
    assert not SaleRecord.objects.filter(workspace=workspace).exists()


def test_skip_invalid_loads_the_good_rows(member, workspace, django_capture_on_commit_callbacks):
    rows = [sale(batch="A"), sale(net_weight_tonnes="x"), sale(batch="C")]
    response = upload(member, workspace, file=csv_file("sales", rows), skip_invalid=True,
                      capture=django_capture_on_commit_callbacks)
    job = member.get(job_url(response.json()["id"])).json()
    assert (job["status"], job["rows_imported"], job["rows_rejected"]) == ("succeeded", 2, 1)
    assert member.get(errors_url(job["id"])).status_code == 200


def test_the_same_file_again_is_a_duplicate_that_loads_nothing(
        member, workspace, django_capture_on_commit_callbacks):
    first = upload(member, workspace, file=csv_file("sales", [sale()]),
                   capture=django_capture_on_commit_callbacks).json()
    again = upload(member, workspace, file=csv_file("sales", [sale()]),
                   capture=django_capture_on_commit_callbacks)
    assert again.status_code == 201
    body = again.json()
    assert (body["status"], body["duplicate_of"], body["progress"]) == (
        "duplicate", first["id"], 100)
    assert f"already imported as #{first['id']}" in body["message"]
    assert SaleRecord.objects.filter(workspace=workspace).count() == 1


def test_replace_swaps_the_rows_of_the_previous_import(member, workspace,
                                                      django_capture_on_commit_callbacks):
    old = upload(member, workspace, file=csv_file("sales", [sale(batch="OLD")]),
                 capture=django_capture_on_commit_callbacks).json()
    new = upload(member, workspace, file=csv_file("sales", [sale(batch="NEW")]),
                 mode="replace", capture=django_capture_on_commit_callbacks).json()
    assert new["replaces"] == old["id"]
    assert member.get(job_url(old["id"])).json()["status"] == "replaced"
    assert list(SaleRecord.objects.filter(workspace=workspace)
                .values_list("batch", flat=True)) == ["NEW"]


FILES = {
    "sales": lambda: csv_file("sales", [sale()]),
    "empty": lambda: SimpleUploadedFile("faturamento.csv", b""),
    "xlsx": lambda: SimpleUploadedFile("faturamento.xlsx", b"PK\x03\x04\x14\x00\x06\x00"
                                                           b"\x08\x00\x00\x00!\x00"),
    None: lambda: None,
}


@pytest.mark.parametrize(("fields", "file", "field"), [
    ({"dataset": "customers"}, "sales", "dataset"),
    ({}, None, "file"),
    ({}, "empty", "file"),
    ({}, "xlsx", "file"),
    ({"encoding": "klingon-8"}, "sales", "encoding"),
    ({"delimiter": ";;"}, "sales", "delimiter"),
    ({"mode": "replace"}, "sales", "replaces"),  # nothing succeeded yet to replace
    ({"mode": "sometimes"}, "sales", "mode"),
], ids=["unknown-dataset", "no-file", "empty-file", "spreadsheet", "unknown-encoding",
        "long-delimiter", "nothing-to-replace", "unknown-mode"])
def test_unusable_uploads_get_400_naming_the_field(member, workspace, fields, file, field):
    body = assert_error(upload(member, workspace, file=FILES[file](), **fields), 400)
    assert body["code"] == "invalid" and field in body["errors"], body
    assert not ImportJob.objects.exists()


def test_a_replace_must_name_an_import_of_the_same_dataset(member, workspace):
    inventory = ImportJobFactory(workspace=workspace, dataset="inventory")
    failed = ImportJobFactory(workspace=workspace, status=S.FAILED)
    for target in (inventory, failed):
        body = assert_error(upload(member, workspace, file=csv_file("sales", [sale()]),
                                   mode="replace", replaces=target.pk), 400)
        assert "replaces" in body["errors"]


def test_viewers_cannot_upload_but_a_custom_role_with_add_importjob_can(workspace):
    viewer_key = APIClient()
    viewer_key.credentials(HTTP_AUTHORIZATION="Api-Key " + ApiKeyFactory(
        workspace=workspace, role="viewer").raw)
    for viewer in (signed_in(workspace, "viewer"), viewer_key):
        body = assert_error(upload(viewer, workspace, file=csv_file("sales", [sale()])), 403)
        assert body["code"] == "permission_denied"
    assert not ImportJob.objects.exists()

    uploader = RoleFactory(workspace=workspace, name="BI uploader")
    uploader.permissions.add(Permission.objects.get(codename="add_importjob"))
    client = signed_in(workspace, "viewer", custom_role=uploader)
    assert upload(client, workspace, file=csv_file("sales", [sale()])).status_code == 201


def test_an_api_key_with_the_member_role_can_upload(workspace):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key " + ApiKeyFactory(
        workspace=workspace, role="member").raw)
    response = upload(client, workspace, file=csv_file("inventory", [stock()]),
                      dataset="inventory")
    assert response.status_code == 201 and response.json()["created_by"] is None


def test_another_workspaces_jobs_are_invisible(member, workspace):
    theirs = ImportJobFactory(failed=True)
    mine = ImportJobFactory(workspace=workspace)
    assert [r["id"] for r in member.get(IMPORTS).json()["results"]] == [mine.pk]
    for url in (job_url(theirs.pk), errors_url(theirs.pk)):
        assert assert_error(member.get(url), 404)["code"] == "not_found"
    # Nor can one upload into it, or replace its imports.
    body = assert_error(upload(member, theirs.workspace, file=csv_file("sales", [sale()])), 400)
    assert "workspace" in body["errors"]
    body = assert_error(upload(member, workspace, file=csv_file("sales", [sale()]),
                               mode="replace", replaces=theirs.pk), 400)
    assert "replaces" in body["errors"]


def test_no_error_report_is_a_404_in_the_error_shape_whatever_the_accept_header(
        member, workspace):
    job = ImportJobFactory(workspace=workspace)
    for accept in ("application/json", "text/csv"):
        response = member.get(errors_url(job.pk), HTTP_ACCEPT=accept)
        body = assert_error(response, 404)
        assert response["Content-Type"] == "application/json"
        assert body["code"] == "no_error_report" and f"#{job.pk}" in body["message"]
    with_report = ImportJobFactory(workspace=workspace, failed=True)
    response = member.get(errors_url(with_report.pk), HTTP_ACCEPT="text/csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")


def test_jobs_cannot_be_edited_or_deleted(member, workspace):
    job = ImportJobFactory(workspace=workspace)
    for call in (member.patch, member.put, member.delete):
        assert_error(call(job_url(job.pk), {"status": "failed"}, format="json"), 405)
    job.refresh_from_db()
    assert job.status == S.SUCCEEDED


def test_the_list_filters_by_dataset_status_and_workspace(member, workspace):
    sales = ImportJobFactory(workspace=workspace)
    inventory = ImportJobFactory(workspace=workspace, dataset="inventory")
    failed = ImportJobFactory(workspace=workspace, status=S.FAILED)

    def ids(**query):
        return {r["id"] for r in member.get(IMPORTS, query).json()["results"]}

    assert ids(dataset="inventory") == {inventory.pk}
    assert ids(status="failed") == {failed.pk}
    assert ids(status__in="succeeded,failed", dataset="sales") == {sales.pk, failed.pk}
    assert ids(workspace=workspace.pk) == {sales.pk, inventory.pk, failed.pk}


def test_bi_rows_show_and_filter_by_their_import(member, workspace):
    job = ImportJobFactory(workspace=workspace)
    loaded = SaleRecordFactory(workspace=workspace, import_job=job, state="BA", sku="A-1")
    other = SaleRecordFactory(workspace=workspace, state="PR", sku="B-2")
    stock_row = InventoryRecordFactory(workspace=workspace, import_job=ImportJobFactory(
        workspace=workspace, dataset="inventory"))
    url = reverse("analytics-salerecord-list")

    def ids(**query):
        response = member.get(url, query)
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["results"]]

    assert ids(import_job=job.pk) == [loaded.pk]
    assert ids(import_job__isnull=True) == [other.pk]
    assert ids(state="PR") == [other.pk]
    assert ids(sku__istartswith="a-") == [loaded.pk]
    assert ids(client=other.client_id) == [other.pk]
    assert set(ids(sale_date__gte="2024-11-01", sale_date__lte="2024-11-30")) == {
        loaded.pk, other.pk}
    assert ids(sale_date__gte="2024-12-01") == []
    row = member.get(reverse("analytics-salerecord-detail", args=[loaded.pk])).json()
    assert row["import_job"] == job.pk

    inventory = member.get(reverse("analytics-inventoryrecord-list"),
                           {"import_job": stock_row.import_job_id}).json()["results"]
    assert [(r["id"], r["import_job"]) for r in inventory] == [
        (stock_row.pk, stock_row.import_job_id)]
