"""What a user reads about an import: progress at the end, and the words of its problems.

The same tests run on PostgreSQL (COPY staging, messages built in SQL) and on SQLite
(messages built in Python): run this file on both.
"""

import io

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from analytics.formats import header_line
from analytics.models import ImportJob, SaleRecord
from tests.factories import ImportJobFactory, MembershipFactory, UserFactory, WorkspaceFactory

from .helpers import csv_file, report_rows, run_one, sale

pytestmark = pytest.mark.django_db

S = ImportJob.Status
EXPECTED_HEADER = header_line("sales")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def workspace():
    return WorkspaceFactory(slug="steel")


@pytest.fixture
def staff(client, workspace):
    """The admin, signed in as a staff member who may view and add imports."""
    user = UserFactory(is_staff=True)
    MembershipFactory(workspace=workspace, user=user, role="member")
    user.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_importjob", "add_importjob"]))
    client.force_login(user)
    return client


@pytest.fixture
def api(workspace):
    user = UserFactory()
    MembershipFactory(workspace=workspace, user=user, role="member")
    api = APIClient()
    api.force_login(user)
    return api


def command(tmp_path, content: bytes, *, tty=False) -> tuple[str, str, str | None]:
    """(stdout, stderr, CommandError text or None) of ``import_csv --sales``."""
    path = tmp_path / "faturamento.csv"
    path.write_bytes(content)
    out, err = io.StringIO(), Terminal() if tty else io.StringIO()
    try:
        call_command("import_csv", "--workspace", "steel", "--sales", str(path),
                     stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), str(exc)
    return out.getvalue(), err.getvalue(), None


def sales_bytes(rows, header=EXPECTED_HEADER) -> bytes:
    return csv_file("sales", rows, header=header).read()


# --- item 13: progress ----------------------------------------------------------------------

@pytest.mark.parametrize("tty", [False, True], ids=["log", "terminal"])
def test_the_command_ends_its_bar_at_100_on_success(workspace, tmp_path, tty):
    _, err, failure = command(tmp_path, sales_bytes([sale(), sale(batch="B")]), tty=tty)
    assert failure is None
    last = err.rstrip("\n").split("\n")[-1].split("\r")[-1]
    assert last.startswith("[" + "#" * 30 + "] 100% sales #"), err
    assert err.endswith("\n")  # the terminal's line is finished, not left at "\r"


@pytest.mark.parametrize("tty", [False, True], ids=["log", "terminal"])
def test_the_command_shows_no_bar_for_a_failed_job(workspace, tmp_path, tty):
    out, err, failure = command(tmp_path, sales_bytes([sale(), sale(net_weight_tonnes="-2")]),
                                tty=tty)
    assert failure and "failed" in out
    last = err.rstrip("\n").split("\n")[-1].split("\r")[-1]
    assert "failed" in last and "%" not in last and "#" * 3 not in last, err


def test_the_admin_shows_100_for_a_success_and_the_reason_not_a_bar_for_a_failure(
        staff, workspace):
    client = staff
    failed = ImportJobFactory(workspace=workspace, failed=True, progress=80,
                              message="3 problem(s) on 2 line(s); nothing was loaded.")
    done = ImportJobFactory(workspace=workspace)

    listing = client.get(reverse("admin:analytics_importjob_changelist")).content.decode()
    assert '<progress value="80"' not in listing and "✗ failed" in listing
    assert '<progress value="100" max="100">' in listing

    page = client.get(reverse("admin:analytics_importjob_change", args=[failed.pk]))
    html = page.content.decode()
    assert "<progress" not in html
    assert "✗ Failed:</strong> 3 problem(s) on 2 line(s); nothing was loaded." in html
    assert '<progress value="100"' in client.get(
        reverse("admin:analytics_importjob_change", args=[done.pk])).content.decode()

    state = client.get(reverse("admin:analytics_importjob_progress", args=[failed.pk]))
    assert (state.json()["status"], state.json()["progress"]) == ("failed", None)


def test_the_api_gives_a_failed_job_no_progress_and_a_finished_one_100(api, workspace):
    failed = ImportJobFactory(workspace=workspace, failed=True, progress=80)
    running = ImportJobFactory(workspace=workspace, status=S.RUNNING, progress=42,
                               finished_at=None)
    done = ImportJobFactory(workspace=workspace)
    shown = {job["id"]: job["progress"]
             for job in api.get(reverse("analytics-importjob-list")).json()["results"]}
    assert shown == {failed.pk: None, running.pk: 42, done.pk: 100}


# --- item 14: messages ----------------------------------------------------------------------

def test_a_header_without_data_rows_fails_saying_so(workspace):
    job = run_one(workspace, "sales", csv_file("sales", []))
    assert job.status == S.FAILED
    assert "has a header line but no data rows" in job.message
    assert job.rows_imported == 0


def test_a_replace_with_no_data_rows_keeps_the_rows_it_would_have_replaced(workspace):
    first = run_one(workspace, "sales", csv_file("sales", [sale(batch="KEEP")]))
    blank_lines_only = SimpleUploadedFile("faturamento 2.csv",
                                          (EXPECTED_HEADER + "\n\n  \n|||\n").encode())
    job = run_one(workspace, "sales", blank_lines_only, mode="replace")
    assert job.status == S.FAILED and "no data rows" in job.message
    first.refresh_from_db()
    assert first.status == S.SUCCEEDED
    assert list(SaleRecord.objects.values_list("batch", flat=True)) == ["KEEP"]


def test_a_file_without_its_header_line_gets_one_error_listing_the_columns(workspace):
    job = run_one(workspace, "sales",
                  csv_file("sales", [sale(batch="B")], header="|".join(sale(batch="A"))))
    assert job.status == S.FAILED
    assert job.message == ("The header line seems to be missing (line 1 is data); nothing "
                           "was loaded.")
    [(line, column, value, reason)] = report_rows(job)[1:]
    assert (line, column) == ("1", "") and value.startswith("2024-11-13|7328|A|")
    assert "the header line seems to be missing" in reason
    assert reason.endswith(f"in any order: {EXPECTED_HEADER}")


def test_another_files_header_still_gets_an_error_per_column(workspace):
    job = run_one(workspace, "sales", csv_file("sales", [sale()], header="id|name|email"))
    reasons = [row[3] for row in report_rows(job)[1:]]
    assert len(reasons) == 3 + 13 and "header line seems to be missing" not in job.message


def test_a_line_with_a_field_too_many_is_named_by_its_line(workspace, tmp_path):
    content = sales_bytes([sale(), [*sale(batch="X"), "extra"]])
    job = run_one(workspace, "sales", SimpleUploadedFile("f.csv", content))
    assert report_rows(job)[1:] == [["3", "", "", "has 14 fields; expected 13"]]
    assert job.errors_preview == [[3, "", "", "has 14 fields; expected 13"]]

    out, _, _ = command(tmp_path, content + b"\n")  # another checksum: not a duplicate
    assert "  line 3 has 14 fields; expected 13\n" in out and "None" not in out


def test_a_missing_client_code_names_its_column_on_every_database(workspace, tmp_path):
    content = sales_bytes([sale(), sale(client_code="")])
    job = run_one(workspace, "sales", SimpleUploadedFile("f.csv", content))
    assert job.errors_preview == [[3, "cod_cliente", "", "is required"]]
    assert report_rows(job)[1:] == [["3", "cod_cliente", "", "is required"]]

    out, _, _ = command(tmp_path, content + b"\n")
    assert "  line 3 cod_cliente is required\n" in out and "None" not in out


def test_old_jobs_with_null_cells_read_without_none(staff, api, workspace):
    # Jobs stored before the fix hold null columns and values in their preview.
    old = ImportJobFactory(workspace=workspace, failed=True,
                           errors_preview=[[3, None, None, "has 14 columns; expected 13"]])
    html = staff.get(reverse("admin:analytics_importjob_change", args=[old.pk])).content
    assert b"<td>None</td>" not in html and b"<code>None</code>" not in html
    body = api.get(reverse("analytics-importjob-detail", args=[old.pk])).json()
    assert body["errors_preview"] == [
        {"line": 3, "column": "", "value": "", "reason": "has 14 columns; expected 13"}]


EMPTY = "The file is empty: a BI file starts with a header line naming its columns"


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf\r\n  \n", b"\xff\xfe\n\x00"],
                         ids=["0-bytes", "bom-and-blank-lines", "utf16-bom-only"])
def test_an_empty_file_is_refused_before_a_job_exists_by_every_door(
        workspace, tmp_path, staff, api, content):
    _, _, failure = command(tmp_path, content)
    assert failure is not None and failure.startswith(f"file: {EMPTY}")

    upload = SimpleUploadedFile("faturamento.csv", content)
    response = api.post(reverse("analytics-importjob-list"),
                        {"workspace": workspace.pk, "dataset": "sales", "file": upload},
                        format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"]["file"][0].startswith(EMPTY)

    upload.seek(0)
    page = staff.post(reverse("admin:analytics_importjob_add"), {
        "workspace": workspace.pk, "mode": "append", "delimiter": "", "encoding": "",
        "sales_file": upload})
    assert page.status_code == 200 and EMPTY in page.content.decode()
    assert not ImportJob.objects.exists()
