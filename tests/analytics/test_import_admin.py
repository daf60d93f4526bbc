"""BI imports in the back office: the upload form, the job page, its progress and report."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from analytics.models import Client, ImportJob, InventoryRecord, SaleRecord
from tests.factories import (
    ImportJobFactory,
    MembershipFactory,
    SaleRecordFactory,
    UserFactory,
    WorkspaceFactory,
)

from .helpers import csv_file, sale, stock

pytestmark = pytest.mark.django_db

S = ImportJob.Status
ADD = reverse("admin:analytics_importjob_add")
CHANGELIST = reverse("admin:analytics_importjob_changelist")
VIEW_AND_ADD = ["view_importjob", "add_importjob"]


def page(name: str, job) -> str:
    return reverse(f"admin:analytics_importjob_{name}", args=[job.pk])


def staff_member(client, roles: dict, perms=VIEW_AND_ADD):
    user = UserFactory(is_staff=True)
    for workspace, role in roles.items():
        MembershipFactory(workspace=workspace, user=user, role=role)
    user.user_permissions.add(*Permission.objects.filter(codename__in=perms))
    client.force_login(user)
    return user


def form(workspace, **fields) -> dict:
    return {"workspace": workspace.pk, "mode": "append", "delimiter": "", "encoding": "",
            **fields}


@pytest.fixture
def workspace():
    return WorkspaceFactory()


def test_uploading_both_files_imports_them_as_one_batch(client, workspace,
                                                        django_capture_on_commit_callbacks):
    me = staff_member(client, {workspace: "member"})
    assert client.get(ADD).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ADD, form(
            workspace, inventory_file=csv_file("inventory", [stock(client_code="900")]),
            sales_file=csv_file("sales", [sale(client_code="42"), sale(client_code="900")])))
    assert response.status_code == 302 and response["Location"] == CHANGELIST
    jobs = ImportJob.objects.filter(workspace=workspace).order_by("dataset")
    assert [(j.dataset, j.status, j.rows_imported, j.created_by) for j in jobs] == [
        ("inventory", S.SUCCEEDED, 1, me), ("sales", S.SUCCEEDED, 2, me)]
    # One batch: the clients of both files are numbered together.
    assert list(Client.objects.filter(workspace=workspace).order_by("code")
                .values_list("code", "name")) == [(42, "Cliente 1"), (900, "Cliente 2")]
    notes = [str(m) for m in get_messages(response.wsgi_request)]
    assert len(notes) == 2 and all("is queued" in n for n in notes)

    listing = client.get(CHANGELIST)
    assert listing.status_code == 200
    assert b'<progress value="100" max="100">' in listing.content
    assert b"Succeeded</strong>" in listing.content


def test_a_duplicate_upload_is_reported_as_a_warning(client, workspace):
    staff_member(client, {workspace: "member"})
    first = ImportJobFactory(workspace=workspace, checksum=_sha(csv_file("sales", [sale()])))
    response = client.post(ADD, form(workspace, sales_file=csv_file("sales", [sale()])),
                           follow=True)
    assert f"already imported as #{first.pk}".encode() in response.content
    assert ImportJob.objects.filter(status=S.DUPLICATE, duplicate_of=first).count() == 1


def _sha(upload) -> str:
    import hashlib

    return hashlib.sha256(upload.read()).hexdigest()


@pytest.mark.parametrize(("fields", "message"), [
    ({}, b"Choose an inventory file, a sales file, or both."),
    ({"sales_file": SimpleUploadedFile("faturamento.xlsx", b"PK\x03\x04\x00\x00")},
     b"This is not a CSV text file"),
    ({"sales_file": "sales", "mode": "replace"},
     b"There is no finished sales import in this workspace to replace."),
    ({"sales_file": "sales", "inventory_file": "inventory", "mode": "replace"},
     b"Replace one dataset at a time."),
    ({"sales_file": "sales", "encoding": "klingon-8"}, b"Unknown encoding"),
], ids=["no-file", "spreadsheet", "nothing-to-replace", "replace-two", "unknown-encoding"])
def test_problems_are_shown_on_the_form_and_nothing_is_created(client, workspace, fields,
                                                               message):
    staff_member(client, {workspace: "member"})
    files = {"sales": lambda: csv_file("sales", [sale()]),
             "inventory": lambda: csv_file("inventory", [stock()])}
    fields = {k: files[v]() if isinstance(v, str) and v in files else v
              for k, v in fields.items()}
    response = client.post(ADD, form(workspace, **fields))
    assert response.status_code == 200
    assert message in response.content
    assert b'class="errornote"' in response.content
    assert not ImportJob.objects.exists()


def test_workspaces_offered_are_those_where_the_role_may_add(client):
    mine, watched, theirs = WorkspaceFactory(), WorkspaceFactory(), WorkspaceFactory()
    staff_member(client, {mine: "member", watched: "viewer"})
    choices = client.get(ADD).context["adminform"].form.fields["workspace"].queryset
    assert list(choices) == [mine]
    for workspace in (watched, theirs):
        response = client.post(ADD, form(workspace, sales_file=csv_file("sales", [sale()])))
        assert response.status_code == 200 and b"Select a valid choice" in response.content
    assert not ImportJob.objects.exists()


def test_staff_without_a_writing_role_get_no_upload_form(client, workspace):
    staff_member(client, {workspace: "viewer"})
    assert client.get(ADD).status_code == 403
    listing = client.get(CHANGELIST)
    assert listing.status_code == 200 and ADD.encode() not in listing.content


def test_the_job_page_is_read_only_and_follows_a_running_job(client, workspace):
    staff_member(client, {workspace: "member"})
    job = ImportJobFactory(workspace=workspace, status=S.RUNNING, progress=42, finished_at=None)
    response = client.get(page("change", job))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<progress value="42" max="100">' in html and "42%" in html
    assert f'data-url="{page("progress", job)}"' in html and "window.setTimeout(poll" in html
    assert 'name="_save"' not in html and "Upload and import" not in html
    assert client.post(page("change", job), {"status": "failed"}).status_code == 403
    assert client.post(page("delete", job), {"post": "yes"}).status_code == 403
    job.refresh_from_db()
    assert job.status == S.RUNNING

    finished = ImportJobFactory(workspace=workspace)
    html = client.get(page("change", finished)).content.decode()
    assert 'data-finished="true"' in html and "window.setTimeout(poll" not in html


def test_progress_json_reports_the_job_to_those_who_may_see_it(client, workspace):
    staff_member(client, {workspace: "viewer"})
    job = ImportJobFactory(workspace=workspace, status=S.RUNNING, progress=85,
                           finished_at=None, message="")
    response = client.get(page("progress", job))
    assert response.status_code == 200 and response["Cache-Control"].startswith("max-age=0")
    assert response.json() == {
        "id": job.pk, "status": "running", "status_display": "Running", "finished": False,
        "progress": 85, "message": "", "rows_total": 40, "rows_imported": 40,
        "rows_rejected": 0, "error_count": 0}
    assert client.get(page("progress", ImportJobFactory())).status_code == 404


def test_the_error_report_downloads_with_the_right_permissions(client, workspace):
    failed = ImportJobFactory(workspace=workspace, failed=True)
    me = staff_member(client, {workspace: "viewer"})
    detail = client.get(page("change", failed)).content.decode()
    assert f'href="{page("errors", failed)}"' in detail
    assert "<td>3</td><td>data</td><td><code>2024-02-30</code></td>" in detail

    response = client.get(page("errors", failed))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == \
        'attachment; filename="faturamento 1-errors.csv"'
    assert b"".join(response.streaming_content).splitlines()[1].startswith(b"3,data,")

    assert client.get(page("errors", ImportJobFactory(workspace=workspace))).status_code == 404
    assert client.get(page("errors", ImportJobFactory(failed=True))).status_code == 404
    me.user_permissions.remove(Permission.objects.get(codename="view_importjob"))
    assert client.get(page("errors", failed)).status_code == 403


def test_bi_row_changelists_show_and_filter_by_import(client, superuser, workspace):
    client.force_login(superuser)
    job = ImportJobFactory(workspace=workspace)
    # No digits elsewhere, so a search for the job's id can only match the import.
    loaded = SaleRecordFactory(workspace=workspace, import_job=job, batch="FROM-JOB", sku="A")
    SaleRecordFactory(workspace=workspace, batch="BY-HAND", sku="B")
    url = reverse("admin:analytics_salerecord_changelist")
    for query in ({"import_job__id__exact": job.pk}, {"q": str(job.pk)}):
        response = client.get(url, query)
        assert response.status_code == 200
        assert list(response.context["cl"].result_list) == [loaded]
    assert str(job).encode() in client.get(url).content
    assert client.get(reverse("admin:analytics_inventoryrecord_changelist")).status_code == 200
    assert not InventoryRecord.objects.exists() and SaleRecord.objects.count() == 2
