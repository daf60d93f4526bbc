"""One download response for the admin and the API: RFC 6266 names, streamed bodies."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from rest_framework.test import APIClient

from core.downloads import CSV_TYPE, content_disposition, file_download
from tests.factories import ImportJobFactory, MembershipFactory, ReportRunFactory

ACCENTED = 'relatório "março".csv'
EXPECTED = ("attachment; filename=\"relatorio _marco_.csv\"; "
            "filename*=UTF-8''relat%C3%B3rio%20%22mar%C3%A7o%22.csv")


@pytest.mark.parametrize(("name", "header"), [
    ("faturamento 1-errors.csv", 'attachment; filename="faturamento 1-errors.csv"'),
    (ACCENTED, EXPECTED),
    # Nothing readable in ASCII: a generic name keeps the extension.
    ("报告.csv", "attachment; filename=\"download.csv\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A.csv"),
    ("..\\..\\etc/passwd", "attachment; filename=\"_.._etc_passwd\"; "
                           "filename*=UTF-8''..%5C..%5Cetc%2Fpasswd"),
])
def test_the_header_names_the_file_for_every_client(name, header):
    assert content_disposition(name) == header


def test_a_name_cannot_inject_a_header():
    header = content_disposition("x.csv\r\nSet-Cookie: session=stolen")
    assert "\r" not in header and "\n" not in header
    assert header.startswith('attachment; filename="x.csv__Set-Cookie: session=stolen"; ')


def test_inline_pages_say_so():
    assert content_disposition("report-1.html", inline=True) == 'inline; filename="report-1.html"'


@pytest.mark.django_db
def test_a_stored_file_is_streamed_with_its_type_and_size():
    job = ImportJobFactory(failed=True)
    job.error_report.save("ünïcode.csv", ContentFile(b"line,column\n3,data\n"))
    response = file_download(job.error_report, CSV_TYPE)
    assert response.streaming
    assert response["Content-Type"] == CSV_TYPE
    assert response["Content-Length"] == "19"
    # Named after the stored file (storage may add a suffix to keep names unique).
    assert response["Content-Disposition"].startswith('attachment; filename="unicode')
    assert b"".join(response.streaming_content) == b"line,column\n3,data\n"


@pytest.mark.django_db
def test_the_import_error_report_keeps_an_accented_name_on_both_doors(client, superuser):
    job = ImportJobFactory(failed=True, original_name='relatório "março".csv')
    expected = ("attachment; filename=\"relatorio _marco_-errors.csv\"; "
                "filename*=UTF-8''relat%C3%B3rio%20%22mar%C3%A7o%22-errors.csv")

    client.force_login(superuser)
    admin = client.get(reverse("admin:analytics_importjob_errors", args=[job.pk]))
    member = APIClient()
    member.force_login(MembershipFactory(workspace=job.workspace, role="viewer").user)
    api = member.get(reverse("analytics-importjob-errors", args=[job.pk]))

    for response in (admin, api):
        assert response.status_code == 200
        assert response["Content-Disposition"] == expected
        assert response["Content-Type"] == CSV_TYPE
        assert b"".join(response.streaming_content).startswith(b"line,column,value,reason")


@pytest.mark.django_db
def test_report_files_download_the_same_from_the_admin_and_the_api(client, superuser):
    run = ReportRunFactory()
    client.force_login(superuser)
    member = APIClient()
    member.force_login(MembershipFactory(workspace=run.workspace, role="viewer").user)
    for kind in ("csv", "xlsx"):
        admin = client.get(reverse(f"admin:reports_reportrun_{kind}", args=[run.pk]))
        api = member.get(reverse(f"reports-reportrun-{kind}", args=[run.pk]))
        assert admin.status_code == api.status_code == 200
        assert admin["Content-Disposition"] == api["Content-Disposition"]
        assert admin["Content-Type"] == api["Content-Type"]
        assert b"".join(admin.streaming_content) == b"".join(api.streaming_content)
