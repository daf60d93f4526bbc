"""The run's page as a response, shared by the API and the admin (files: core.downloads)."""

from django.http import HttpResponse

from core.downloads import XLSX_TYPE, ZIP_TYPE, page_download

__all__ = ["PAGE_POLICY", "XLSX_TYPE", "ZIP_TYPE", "page_response"]

#: The stored page may be opened on its own: no scripts, no requests out, inline CSS only.
PAGE_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def page_response(html: str, filename: str) -> HttpResponse:
    return page_download(html, filename, policy=PAGE_POLICY)
