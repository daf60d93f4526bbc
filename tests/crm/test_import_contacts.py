"""Contact CSV import through the BI import machinery: line-level errors, atomic by
default, idempotent by checksum, duplicates in the file and against existing contacts."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from analytics.models import ImportJob
from crm.imports.service import contact_import_run, contact_import_start
from crm.models import Contact, ContactEvent
from tests.factories import ContactFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

HEADER = "first_name,last_name,phone,email,company,time_zone,tags,source,custom_plan"


def upload(*lines, header=HEADER, name="contacts.csv"):
    return SimpleUploadedFile(name, ("\n".join([header, *lines]) + "\n").encode())


def run(workspace, file, **options):
    job = contact_import_start(workspace=workspace, upload=file, enqueue=False, **options)
    if job.status == ImportJob.Status.PENDING:
        job = contact_import_run(job)
    return job


def report_rows(job):
    with job.error_report.open("rb") as handle:
        return list(csv.reader(io.StringIO(handle.read().decode())))[1:]


def test_a_clean_file_loads_every_contact_with_numbers_in_e164():
    workspace = WorkspaceFactory()
    job = run(workspace, upload(
        'Rita,Sousa,+351 912 345 678,rita@example.com,Acme,Europe/Lisbon,"vip;lisbon",Fair,gold',
        "Rui,Lima,(11) 91234-5678,,,America/Sao_Paulo,,,"), region="BR")
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert (job.rows_total, job.rows_imported, job.progress) == (2, 2, 100)
    rita = Contact.objects.get(workspace=workspace, first_name="Rita")
    assert rita.phone == "+351912345678" and rita.company == "Acme"
    assert set(rita.tags.values_list("name", flat=True)) == {"vip", "lisbon"}
    assert rita.source.name == "Fair" and rita.custom_fields == {"plan": "gold"}
    assert Contact.objects.get(first_name="Rui").phone == "+5511912345678"
    assert ContactEvent.objects.filter(contact=rita, kind="contact.imported").count() == 1


def test_contact_import_reports_bad_lines_with_line_numbers_and_loads_nothing_by_default():
    workspace = WorkspaceFactory()
    job = run(workspace, upload(
        "Ana,Good,+351912000001,ana@example.com,,,,,",
        "Bad,Phone,12345,,,,,,",
        "Bad,Email,,not-an-email,,,,,",
        "Bad,Zone,+351912000002,,,Mars/Olympus,,,",
        "Short,Line",
        "Nobody,Reachable,,,,,,,"))
    assert job.status == ImportJob.Status.FAILED
    assert "nothing was loaded" in job.message
    assert not Contact.objects.filter(workspace=workspace).exists()
    lines = {(int(line), column) for line, column, _value, _reason in report_rows(job)}
    assert lines == {(3, "phone"), (4, "email"), (5, "time_zone"), (6, ""), (7, "phone")}
    assert job.rows_rejected == 5
    assert [p[0] for p in job.errors_preview] == [3, 4, 5, 6, 7]


def test_skip_invalid_loads_the_good_lines_and_reports_the_bad():
    workspace = WorkspaceFactory()
    job = run(workspace, upload("Ana,Good,+351912000001,,,,,,", "Bad,Phone,12345,,,,,,"),
              skip_invalid=True)
    assert job.status == ImportJob.Status.SUCCEEDED
    assert list(Contact.objects.filter(workspace=workspace)
                .values_list("first_name", flat=True)) == ["Ana"]
    assert [row[0] for row in report_rows(job)] == ["3"]


def test_the_same_contact_twice_in_a_file_is_a_bad_line():
    workspace = WorkspaceFactory()
    job = run(workspace, upload("Ana,One,+351912000001,,,,,,",
                                "Ana,Two,+351 912 000 001,,,,,,",
                                "Ana,Three,,A@x.com,,,,,", "Ana,Four,,a@X.COM,,,,,"))
    assert job.status == ImportJob.Status.FAILED
    reasons = {int(r[0]): r[3] for r in report_rows(job)}
    assert set(reasons) == {3, 5} and "line 2" in reasons[3] and "line 4" in reasons[5]


@pytest.mark.parametrize("on_duplicate, expected_company", [("skip", "Old"),
                                                              ("update", "New")])
def test_lines_matching_existing_contacts_are_skipped_or_updated(on_duplicate,
                                                                 expected_company):
    workspace = WorkspaceFactory()
    known = ContactFactory(workspace=workspace, phone="+351912000001", company="Old")
    job = run(workspace, upload("Ana,Dup,00351912000001,,New,,,,", "Rui,New,,rui@x.com,,,,,"),
              on_duplicate=on_duplicate, region="PT")
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    known.refresh_from_db()
    assert known.company == expected_company
    assert Contact.objects.filter(workspace=workspace).count() == 2
    assert report_rows(job)[0][:2] == ["2", "phone"]
    assert f"#{known.pk}" in report_rows(job)[0][3]


def test_the_same_file_uploaded_again_loads_nothing_twice():
    workspace = WorkspaceFactory()
    first = run(workspace, upload("Ana,One,+351912000001,,,,,,"))
    again = run(workspace, upload("Ana,One,+351912000001,,,,,,", name="renamed.csv"))
    assert first.status == ImportJob.Status.SUCCEEDED
    assert again.status == ImportJob.Status.DUPLICATE and again.duplicate_of_id == first.pk
    assert Contact.objects.filter(workspace=workspace).count() == 1
    # Another workspace may load the same file.
    other = run(WorkspaceFactory(), upload("Ana,One,+351912000001,,,,,,"))
    assert other.status == ImportJob.Status.SUCCEEDED


def test_a_header_without_phone_or_email_or_with_unknown_columns_is_refused():
    workspace = WorkspaceFactory()
    job = run(workspace, upload("Ana,Acme", header="first_name,company"))
    assert job.status == ImportJob.Status.FAILED and job.errors_preview[0][0] == 1
    job = run(workspace, upload("Ana,x,+351912000001", header="first_name,shoe_size,phone"))
    assert job.status == ImportJob.Status.FAILED
    assert job.errors_preview[0][1] == "shoe_size"


def test_bad_options_are_refused_before_a_job_exists():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        contact_import_start(workspace=WorkspaceFactory(), upload=upload("a,b,+1,,,,,,"),
                             region="XX", on_duplicate="merge", enqueue=False)
    assert set(caught.value.message_dict) == {"region", "on_duplicate"}
    assert not ImportJob.objects.exists()


def test_the_command_imports_through_the_same_service(tmp_path):
    from django.core.management import CommandError, call_command

    workspace = WorkspaceFactory()
    good = tmp_path / "good.csv"
    good.write_text("first_name;phone\nAna;912 000 001\n")
    out = io.StringIO()
    call_command("import_contacts", str(good), workspace=workspace.slug, region="PT",
                 stdout=out)
    assert "succeeded" in out.getvalue()
    assert Contact.objects.get(workspace=workspace).phone == "+351912000001"
    bad = tmp_path / "bad.csv"
    bad.write_text("first_name,phone\nRui,12345\n")
    with pytest.raises(CommandError):
        call_command("import_contacts", str(bad), workspace=workspace.slug, stdout=out)
    assert "line 2 phone: '12345'" in out.getvalue()
