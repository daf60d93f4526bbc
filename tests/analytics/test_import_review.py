"""Second review of the BI import pipeline (#5): each test pins a finding or a probed edge.

The tests run on whichever database the suite uses; the pipeline must give the same
answer on SQLite (values checked in Python) and PostgreSQL (checked in SQL).
"""

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from analytics.formats import header_line
from analytics.models import Client, ImportJob, SaleRecord
from analytics.pipeline.run import run_jobs
from analytics.services.imports import import_jobs_create, import_jobs_reap
from tests.factories import ImportJobFactory, MembershipFactory, UserFactory, WorkspaceFactory

from .helpers import csv_file, report_rows, run_one, sale, stock

pytestmark = pytest.mark.django_db

S = ImportJob.Status
IMPORTS = reverse("analytics-importjob-list")
ADMIN_ADD = reverse("admin:analytics_importjob_add")


@pytest.fixture
def workspace():
    return WorkspaceFactory()


def raw_file(content: bytes, name: str = "faturamento 1.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def sales_bytes(rows, *, delimiter="|", newline="\n", header=None) -> bytes:
    lines = [header or header_line("sales").replace("|", delimiter)]
    lines += [delimiter.join(row) for row in rows]
    return (newline.join(lines) + newline).encode()


def signed_in(workspace, role: str) -> APIClient:
    user = UserFactory()
    MembershipFactory(workspace=workspace, user=user, role=role)
    client = APIClient()
    client.force_login(user)
    return client


def batches(workspace) -> list[str]:
    return sorted(SaleRecord.objects.filter(workspace=workspace).values_list("batch", flat=True))


# --- tenancy and roles --------------------------------------------------------------------

def test_api_replaces_naming_another_workspaces_job_is_refused(workspace):
    user = UserFactory()
    other = WorkspaceFactory()
    MembershipFactory(workspace=workspace, user=user, role="member")
    MembershipFactory(workspace=other, user=user, role="owner")  # may see its jobs
    theirs = ImportJobFactory(workspace=other)
    client = APIClient()
    client.force_login(user)
    response = client.post(IMPORTS, {"workspace": workspace.pk, "dataset": "sales",
                                     "file": csv_file("sales", [sale()]), "mode": "replace",
                                     "replaces": theirs.pk}, format="multipart")
    assert response.status_code == 400 and "replaces" in response.json()["errors"]
    theirs.refresh_from_db()
    assert theirs.status == S.SUCCEEDED and not ImportJob.objects.filter(
        workspace=workspace).exists()


def test_admin_replaces_naming_another_workspaces_job_is_refused(client, workspace):
    from django.contrib.auth.models import Permission

    other = WorkspaceFactory()
    user = UserFactory(is_staff=True)
    MembershipFactory(workspace=workspace, user=user, role="member")
    MembershipFactory(workspace=other, user=user, role="member")
    user.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_importjob", "add_importjob"]))
    client.force_login(user)
    theirs = ImportJobFactory(workspace=other)
    response = client.post(ADMIN_ADD, {
        "workspace": workspace.pk, "mode": "replace", "replaces": theirs.pk, "delimiter": "",
        "encoding": "", "sales_file": csv_file("sales", [sale()])})
    assert response.status_code == 200
    assert "replaces" in response.context["adminform"].form.errors
    assert not ImportJob.objects.filter(workspace=workspace).exists()


def test_viewer_cannot_upload_and_cannot_fetch_another_workspaces_report(workspace):
    viewer = signed_in(workspace, "viewer")
    response = viewer.post(IMPORTS, {"workspace": workspace.pk, "dataset": "sales",
                                     "file": csv_file("sales", [sale()])}, format="multipart")
    assert response.status_code == 403
    theirs = ImportJobFactory(failed=True)
    response = viewer.get(reverse("analytics-importjob-errors", args=[theirs.pk]))
    assert response.status_code == 404


# --- API input errors ---------------------------------------------------------------------

def test_api_zero_byte_file_and_missing_dataset_are_400_not_500(workspace):
    member = signed_in(workspace, "member")
    response = member.post(IMPORTS, {"workspace": workspace.pk, "dataset": "sales",
                                     "file": raw_file(b"")}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["errors"]
    response = member.post(IMPORTS, {"workspace": workspace.pk,
                                     "file": csv_file("sales", [sale()])}, format="multipart")
    assert response.status_code == 400 and "dataset" in response.json()["errors"]
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("delimiter", ['"', "\n", "\r", "a", "7"])
def test_a_delimiter_that_cannot_split_csv_is_refused_at_upload(workspace, delimiter):
    member = signed_in(workspace, "member")
    response = member.post(IMPORTS, {"workspace": workspace.pk, "dataset": "sales",
                                     "delimiter": delimiter, "file": csv_file("sales", [sale()])},
                           format="multipart")
    assert response.status_code == 400, response.content
    assert "delimiter" in response.json()["errors"]
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("encoding", ["", "utf-16"])
def test_a_utf16_file_as_excel_saves_unicode_text_loads(workspace, encoding):
    # Excel's "Unicode Text": UTF-16 with a BOM, tab-delimited, CRLF.
    text = sales_bytes([sale(batch="A", city="SÃO PAULO"), sale(batch="B")], delimiter="\t",
                       newline="\r\n").decode()
    job = run_one(workspace, "sales", raw_file(text.encode("utf-16"), "faturamento.txt"),
                  encoding=encoding)
    assert job.status == S.SUCCEEDED, (job.message, job.errors_preview)
    assert job.delimiter == "\t" and job.encoding.startswith("utf-16")
    assert batches(workspace) == ["A", "B"]
    assert SaleRecord.objects.get(workspace=workspace, batch="A").city == "SÃO PAULO"


# --- error report -------------------------------------------------------------------------

def test_the_error_report_defuses_spreadsheet_formulas(workspace):
    rows = [sale(city="=HYPERLINK(\"http://x\",\"y\")" + "x" * 100),
            sale(sku="@SUM(1+1)*cmd" + "x" * 50),
            sale(net_weight_tonnes="+1+1"),
            sale(net_weight_tonnes="-2"), sale(sku_client_turnover=" =1+2x")]
    job = run_one(workspace, "sales", csv_file("sales", rows))
    assert job.status == S.FAILED
    values = [row[2] for row in report_rows(job)[1:]]
    assert len(values) == 5, values
    for value in values:
        assert value.lstrip()[:1] not in ("=", "+", "@") or value.startswith("'"), values
    # A plain negative number is not a formula: it stays as it was, to show why it is bad.
    assert "-2" in values


def test_a_header_error_report_defuses_formulas_and_is_bounded(workspace):
    header = header_line("sales").replace("SKU", "=HYPERLINK(1)" + "y" * 10_000)
    job = run_one(workspace, "sales", csv_file("sales", [sale()], header=header))
    assert job.status == S.FAILED
    rows = report_rows(job)[1:]
    assert all(not cell.startswith("=") for row in rows for cell in row), rows
    assert all(len(cell) <= 1000 for row in rows for cell in row)
    assert all(len(str(cell)) <= 1000 for error in job.errors_preview for cell in error)


# --- file shapes --------------------------------------------------------------------------

def test_a_header_followed_only_by_blank_and_delimiter_only_lines_has_no_data_rows(workspace):
    content = (header_line("sales") + "\n\n   \n" + "|" * 12 + "\n\r\n").encode()
    job = run_one(workspace, "sales", raw_file(content))
    assert job.status == S.FAILED and "no data rows" in job.message, job.errors_preview
    assert (job.rows_total, job.rows_imported, job.error_count) == (0, 0, 0)


def test_bom_and_crlf(workspace):
    content = b"\xef\xbb\xbf" + sales_bytes([sale(batch="A"), sale(batch="B")], newline="\r\n")
    job = run_one(workspace, "sales", raw_file(content))
    assert job.status == S.SUCCEEDED, job.errors_preview
    assert batches(workspace) == ["A", "B"]
    assert SaleRecord.objects.get(workspace=workspace, batch="B").sku == "BZN-4.75X1250"


def test_a_quoted_field_with_the_delimiter_and_a_newline(workspace):
    rows = [sale(batch="A", product='"Bobina | larga\nespecial"'), sale(batch="B")]
    job = run_one(workspace, "sales", raw_file(sales_bytes(rows)))
    assert job.status == S.SUCCEEDED, job.errors_preview
    assert job.rows_total == 2
    assert SaleRecord.objects.get(workspace=workspace, batch="A").product == \
        "Bobina | larga\nespecial"


@pytest.mark.parametrize(("product", "code"), [
    ('Tubo 2" x 3"', "BZN"), ('Tubo 2"', '3" galv'), ('Tubo 2"', "BZN")])
def test_inch_marks_inside_a_value_are_kept_and_do_not_swallow_lines(workspace, product, code):
    # Python's csv (and so SQLite) reads a quote inside an unquoted field as a
    # character; PostgreSQL's COPY must not read the same line differently, and an
    # odd one must not open a "quoted field" that swallows the lines after it.
    rows = [sale(batch="A", product=product, product_code=code), sale(batch="B"),
            sale(batch="C")]
    job = run_one(workspace, "sales", raw_file(sales_bytes(rows)))
    assert job.status == S.SUCCEEDED, (job.message, job.errors_preview)
    assert job.rows_total == 3
    assert batches(workspace) == ["A", "B", "C"]
    row = SaleRecord.objects.get(workspace=workspace, batch="A")
    assert (row.product, row.product_code) == (product, code)


def test_carriage_returns_alone_end_lines_as_in_old_mac_files(workspace):
    rows = [sale(batch="A"), sale(batch="B", city='"SAL\rVADOR"')]
    job = run_one(workspace, "sales", raw_file(sales_bytes(rows, newline="\r")))
    assert job.status == S.SUCCEEDED, (job.message, job.errors_preview)
    assert job.rows_total == 2 and batches(workspace) == ["A", "B"]
    assert SaleRecord.objects.get(workspace=workspace, batch="B").city == "SAL\nVADOR"


def test_a_nul_byte_beyond_the_sniffed_head_is_a_line_error(workspace):
    filler = [sale(batch=f"F{n}") for n in range(800)]  # > 64 KB before the bad line
    content = sales_bytes([*filler, sale(batch="BAD", city="SAL\x00VADOR")])
    assert content.index(b"\x00") > 64 * 1024
    job = run_one(workspace, "sales", raw_file(content))
    assert job.status == S.FAILED, job.message
    assert "internal error" not in job.message
    assert report_rows(job)[1:] == [["802", "", "", "is not valid utf-8 text"]]


def test_a_trailing_delimiter_is_a_column_count_error(workspace):
    rows = [sale(batch="A"), [*sale(batch="B"), ""]]
    job = run_one(workspace, "sales", raw_file(sales_bytes(rows)))
    assert job.status == S.FAILED
    assert report_rows(job)[1:] == [["3", "", "", "has 14 fields; expected 13"]]


def test_a_header_with_spaces_and_quotes_is_understood(workspace):
    header = " | ".join(f'" {c} "' if i % 2 else f"  {c.upper()} "
                        for i, c in enumerate(header_line("sales").split("|")))
    job = run_one(workspace, "sales", raw_file(sales_bytes([sale()], header=header)))
    assert job.status == S.SUCCEEDED, job.errors_preview


def test_client_codes_with_leading_zeros_are_the_same_client(workspace):
    job = run_one(workspace, "sales", csv_file("sales", [
        sale(client_code="007", batch="A"), sale(client_code="7", batch="B"),
        sale(client_code=" 0007 ", batch="C")]))
    assert job.status == S.SUCCEEDED, job.errors_preview
    assert list(Client.objects.filter(workspace=workspace).values_list("code", flat=True)) == [7]
    assert job.clients_created == 1


@pytest.mark.parametrize("value", ["1.234,56", "1,234.56", "1 234,56", "1.234.567"])
def test_thousands_marks_are_errors(workspace, value):
    job = run_one(workspace, "sales", csv_file("sales", [sale(net_weight_tonnes=value)]))
    assert job.status == S.FAILED
    assert report_rows(job)[1][1:] == ["zs_peso_liquido", value,
                                       "is not a number (decimal comma or point, no thousands "
                                       "separators)"]


def test_leap_days(workspace):
    job = run_one(workspace, "sales", csv_file("sales", [
        sale(sale_date="2024-02-29", batch="A"), sale(sale_date="29/02/2024", batch="B"),
        sale(sale_date="2024-02-29T12:00:00", batch="C")]))
    assert job.status == S.SUCCEEDED, job.errors_preview
    assert set(SaleRecord.objects.filter(workspace=workspace)
               .values_list("sale_date", flat=True)) == {date(2024, 2, 29)}
    for bad in ("2023-02-29", "29/02/2023", "2023-02-29T12:00:00", "2100-02-29"):
        job = run_one(workspace, "sales", csv_file("sales", [sale(sale_date=bad)]))
        assert job.status == S.FAILED
        assert report_rows(job)[1][3].startswith("is not a real calendar date"), bad


@pytest.mark.parametrize(("value", "day"), [
    ("2024-06-30T23:30:00-05:00", date(2024, 7, 1)),  # 01:30 on the 1st in São Paulo
    ("2024-07-01T02:59:59Z", date(2024, 6, 30)),
    ("2024-07-01T03:00:00Z", date(2024, 7, 1)),
    ("2024-07-01T00:30+0100", date(2024, 6, 30)),
    ("2024-07-01 00:30+01", date(2024, 6, 30)),
    ("2024-06-30T23:59:59.999999-03:00", date(2024, 6, 30)),
    ("2024-12-31T23:30:00-03:00", date(2024, 12, 31)),
    ("2025-01-01T01:00:00+14:00", date(2024, 12, 31)),
])
def test_timestamps_with_offsets_near_midnight(workspace, value, day):
    job = run_one(workspace, "sales", csv_file("sales", [sale(sale_date=value)]))
    assert job.status == S.SUCCEEDED, job.errors_preview
    assert SaleRecord.objects.get(workspace=workspace).sale_date == day


@pytest.mark.parametrize("value", ["2024-07-01T00:30+20:00", "2024-07-01T00:30-16:00",
                                   "2024-07-01T00:30+03:99"])
def test_an_impossible_offset_is_a_line_error_on_every_database(workspace, value):
    job = run_one(workspace, "sales", csv_file("sales", [sale(), sale(sale_date=value)]))
    assert job.status == S.FAILED, job.message
    assert "internal error" not in job.message
    [[line, column, got, _]] = report_rows(job)[1:]
    assert (line, column, got) == ("3", "data", value)


@pytest.mark.parametrize("value", ["7328\u00a0", "\u00a07328", "7328\t"])
def test_values_are_trimmed_alike_on_both_databases(workspace, value):
    # Excel exports carry no-break spaces; SQLite (Python's strip) and
    # PostgreSQL (btrim) must agree on what trimming removes.
    job = run_one(workspace, "sales", csv_file("sales", [
        sale(client_code=value, city="\u00a0SALVADOR\t", net_weight_tonnes="1,5\u00a0")]))
    assert job.status == S.SUCCEEDED, job.errors_preview
    row = SaleRecord.objects.get(workspace=workspace)
    assert (row.client.code, row.city, row.net_weight_tonnes) == (7328, "SALVADOR",
                                                                   Decimal("1.500"))


def test_a_whitespace_only_text_value_is_missing_on_both_databases(workspace):
    job = run_one(workspace, "sales", csv_file("sales", [sale(city="\t"), sale(sku="\u00a0")]))
    assert job.status == S.FAILED
    assert [r[3] for r in report_rows(job)[1:]] == ["is required", "is required"]


def test_a_weight_that_rounds_past_its_digits_is_a_line_error(workspace):
    rows = [sale(), sale(net_weight_tonnes="99999999999.9996"),
            sale(sku_client_turnover="9999999999.99999")]
    job = run_one(workspace, "sales", csv_file("sales", rows))
    assert job.status == S.FAILED, job.message
    assert "internal error" not in job.message
    assert [(r[0], r[1]) for r in report_rows(job)[1:]] == [("3", "zs_peso_liquido"),
                                                            ("4", "giro_sku_cliente")]


def test_a_huge_quoted_line_is_a_line_error_not_a_crash(workspace):
    rows = [sale(batch="A"), sale(product='"' + "x" * 300_000 + '"')]
    job = run_one(workspace, "sales", raw_file(sales_bytes(rows)))
    assert job.status == S.FAILED, job.message
    assert "internal error" not in job.message
    assert report_rows(job)[1][:2] == ["3", "produto"]
    assert "longer than 100 characters" in report_rows(job)[1][3]


# --- duplicates, replace, counts ----------------------------------------------------------

def test_a_failed_file_may_be_uploaded_again_and_a_fixed_one_loads(workspace):
    bad = csv_file("sales", [sale(), sale(sku="")])
    first = run_one(workspace, "sales", bad)
    again = run_one(workspace, "sales", csv_file("sales", [sale(), sale(sku="")]))
    assert (first.status, again.status) == (S.FAILED, S.FAILED)
    assert again.duplicate_of is None and again.pk != first.pk
    fixed = run_one(workspace, "sales", csv_file("sales", [sale(), sale(sku="X")]))
    assert fixed.status == S.SUCCEEDED and fixed.rows_imported == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_identical_uploads_at_the_same_moment_make_one_job_and_one_duplicate(monkeypatch):
    from analytics.services import imports

    workspace = WorkspaceFactory()
    barrier, seen = threading.Barrier(2, timeout=20), threading.local()
    real = imports._active_same_file

    def both_look_first(job):  # both uploads find no earlier job, then both insert
        found = real(job)
        if not getattr(seen, "once", False):
            seen.once = True
            barrier.wait()
        return found

    monkeypatch.setattr(imports, "_active_same_file", both_look_first)
    statuses, problems = [], []

    def upload():
        try:
            [job] = import_jobs_create(workspace=workspace, enqueue=False,
                                       uploads={"sales": csv_file("sales", [sale()])})
            statuses.append(job.status)
        except Exception as exc:
            problems.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not problems and sorted(statuses) == [S.DUPLICATE, S.PENDING]
    pending = ImportJob.objects.get(status=S.PENDING)
    assert ImportJob.objects.get(status=S.DUPLICATE).duplicate_of == pending


def test_two_replaces_of_the_same_import_do_not_both_load(workspace):
    old = run_one(workspace, "sales", csv_file("sales", [sale(batch="OLD")]))
    [first] = import_jobs_create(workspace=workspace, enqueue=False, mode="replace",
                                 uploads={"sales": csv_file("sales", [sale(batch="NEW1")])})
    [second] = import_jobs_create(workspace=workspace, enqueue=False, mode="replace",
                                  uploads={"sales": csv_file("sales", [sale(batch="NEW2")])})
    assert first.replaces == old == second.replaces
    run_jobs([first.pk])
    run_jobs([second.pk])
    first.refresh_from_db()
    second.refresh_from_db()
    old.refresh_from_db()
    assert first.status == S.SUCCEEDED
    assert second.status == S.FAILED and f"#{old.pk}" in second.message
    assert old.status == S.REPLACED and f"#{first.pk}" in old.message
    assert batches(workspace) == ["NEW1"]


def test_replacing_an_already_replaced_import_is_refused(workspace):
    old = run_one(workspace, "sales", csv_file("sales", [sale(batch="OLD")]))
    run_one(workspace, "sales", csv_file("sales", [sale(batch="NEW")]), mode="replace")
    old.refresh_from_db()
    with pytest.raises(Exception) as caught:
        import_jobs_create(workspace=workspace, enqueue=False, mode="replace", replaces=old,
                           uploads={"sales": csv_file("sales", [sale(batch="NEWER")])})
    assert "replaces" in caught.value.message_dict


def test_skip_invalid_counts_and_progress(workspace):
    rows = [sale(batch="A"), sale(sku="", city=""), sale(batch="B"), sale()[:3]]
    job = run_one(workspace, "sales", csv_file("sales", rows), skip_invalid=True)
    assert job.status == S.SUCCEEDED and job.progress == 100
    assert (job.rows_total, job.rows_imported, job.rows_rejected, job.error_count) == (4, 2, 2, 3)
    assert job.error_report and len(job.errors_preview) == 3


# --- worker robustness --------------------------------------------------------------------

def test_an_error_after_one_job_of_a_batch_finished_fails_them_all(workspace, monkeypatch):
    from analytics.pipeline import load

    calls = []
    real = load.remove_replaced

    def second_call_breaks(job):
        calls.append(job.pk)
        if len(calls) == 2:
            raise ValueError("boom")
        return real(job)

    monkeypatch.setattr(load, "remove_replaced", second_call_breaks)
    jobs = import_jobs_create(workspace=workspace, enqueue=False, uploads={
        "inventory": csv_file("inventory", [stock()]), "sales": csv_file("sales", [sale()])})
    run_jobs([job.pk for job in jobs])
    for job in jobs:
        job.refresh_from_db()
        assert job.status == S.FAILED, (job.pk, job.status)
    assert not SaleRecord.objects.filter(workspace=workspace).exists()


def test_a_bad_workspace_time_zone_fails_the_job_instead_of_leaving_it_running(workspace):
    workspace.settings = {**workspace.settings, "bi_source_time_zone": "Mars/Olympus_Mons"}
    workspace.save()
    [job] = import_jobs_create(workspace=workspace, enqueue=False,
                               uploads={"sales": csv_file("sales", [sale()])})
    run_jobs([job.pk])
    job.refresh_from_db()
    assert job.status == S.FAILED and job.message


def test_a_broker_outage_at_upload_is_not_a_500_and_the_job_is_sent_again(
        workspace, monkeypatch, django_capture_on_commit_callbacks, settings):
    from kombu.exceptions import OperationalError as BrokerDown

    from analytics import tasks

    sent = []

    def down(job_ids):
        raise BrokerDown("connection refused")

    monkeypatch.setattr(tasks.run_import, "delay", down)
    member = signed_in(workspace, "member")
    with django_capture_on_commit_callbacks(execute=True):
        response = member.post(IMPORTS, {"workspace": workspace.pk, "dataset": "sales",
                                         "file": csv_file("sales", [sale()])},
                               format="multipart")
    assert response.status_code == 201, response.content
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert job.status == S.PENDING
    # The reaper sends a job that has waited too long as pending again.
    monkeypatch.setattr(tasks.run_import, "delay", lambda job_ids: sent.append(job_ids))
    ImportJob.objects.filter(pk=job.pk).update(
        updated_at=timezone.now() - timedelta(minutes=settings.BI_IMPORT_REQUEUE_MINUTES + 1))
    with django_capture_on_commit_callbacks(execute=True):
        import_jobs_reap()
    assert sent == [[job.pk]]



def test_a_lost_staging_connection_is_transient_and_retried_not_failed(workspace, monkeypatch):
    # PostgreSQL stages on a psycopg connection of its own: its errors are psycopg's,
    # not Django's, and a dropped connection there must retry like one on Django's.
    import psycopg

    from analytics.pipeline import run
    from analytics.tasks import run_import

    class LostConnection:
        def __init__(self, job, tz):
            pass

        def stage(self, source, progress):
            raise psycopg.OperationalError("server closed the connection unexpectedly")

        def close(self):
            pass

    monkeypatch.setattr(run, "staging_for", LostConnection)
    [job] = import_jobs_create(workspace=workspace, enqueue=False,
                               uploads={"sales": csv_file("sales", [sale()])})
    with pytest.raises(psycopg.OperationalError):
        run_jobs([job.pk])
    job.refresh_from_db()
    assert job.status == S.RUNNING  # the task retries it; the reaper settles it otherwise
    assert psycopg.OperationalError in run_import.autoretry_for
