"""File downloads, the same for the admin and the API: safe names, streamed bodies.

``Content-Disposition`` follows RFC 6266: a quoted ASCII ``filename`` every client
understands and, when the real name is not plain ASCII, the exact name in
``filename*`` (RFC 8187, UTF-8 percent-encoded).  Names come from uploads, so
quotes, backslashes, control characters and path separators never reach the header
as such.
"""

import re
import unicodedata
from urllib.parse import quote

from django.http import FileResponse, HttpResponse

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP_TYPE = "application/zip"
CSV_TYPE = "text/csv; charset=utf-8"

# Printable ASCII but the quote, the backslash and path separators (RFC 9110 qdtext, safely).
_UNSAFE_ASCII = re.compile(r'[^\x20-\x7e]|["\\/]')


def _fallback(filename: str) -> str:
    """An ASCII stand-in: accents dropped (``relatório`` → ``relatorio``), the rest ``_``,
    the extension kept, never a hidden file."""
    stem, dot, extension = filename.rpartition(".")
    if not dot or not (extension.isascii() and extension.isalnum()):
        stem, extension = filename, ""
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    stem = _UNSAFE_ASCII.sub("_", stem).strip().lstrip(". ")
    if not any(c.isalnum() for c in stem):  # nothing readable left (another script)
        stem = "download"
    return f"{stem}.{extension}" if extension else stem


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """The ``Content-Disposition`` value offering ``filename`` (RFC 6266)."""
    kind = "inline" if inline else "attachment"
    fallback = _fallback(filename)
    if fallback == filename:
        return f'{kind}; filename="{filename}"'
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_download(field, content_type: str, *, filename: str | None = None,
                  inline: bool = False) -> FileResponse:
    """A stored file (a ``FieldFile``), streamed; named after it unless ``filename`` is given.

    Raises ``OSError`` when storage has lost the file: callers answer 404 in their shape.
    """
    name = filename or field.name.rsplit("/", 1)[-1]
    response = FileResponse(field.open("rb"), content_type=content_type)
    response["Content-Disposition"] = content_disposition(name, inline=inline)
    return response


def page_download(html: str, filename: str, *, policy: str | None = None) -> HttpResponse:
    """An HTML page served inline under ``filename``, confined by the CSP ``policy``."""
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    if policy:
        response["Content-Security-Policy"] = policy
    response["Content-Disposition"] = content_disposition(filename, inline=True)
    return response
