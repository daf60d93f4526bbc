"""Responses for a run's page and files, shared by the API and the admin."""

from django.http import FileResponse, HttpResponse

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP_TYPE = "application/zip"
#: The stored page may be opened on its own: no scripts, no requests out, inline CSS only.
PAGE_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def page_response(html: str, filename: str) -> HttpResponse:
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = PAGE_POLICY
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def file_response(field, content_type: str) -> FileResponse:
    """The stored file as a download; ``OSError`` when storage has lost it."""
    return FileResponse(field.open("rb"), as_attachment=True, content_type=content_type,
                        filename=field.name.rsplit("/", 1)[-1])
