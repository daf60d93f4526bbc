"""Text out of a document: PDF (pypdf), HTML (Beautiful Soup, without scripts and styles),
Markdown (kept as text, its markup stripped) and plain text.

The kind is decided by the file's content type, else its extension; anything else is an
``ExtractionError`` naming what is accepted, so a user sees why a document failed.
"""

from __future__ import annotations

import io
import re
from pathlib import PurePosixPath

KINDS = {
    "pdf": ("application/pdf",),
    "html": ("text/html", "application/xhtml+xml"),
    "markdown": ("text/markdown", "text/x-markdown"),
    "text": ("text/plain",),
}
EXTENSIONS = {".pdf": "pdf", ".html": "html", ".htm": "html", ".xhtml": "html",
              ".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text"}
ACCEPTED = "PDF, HTML, Markdown or plain text"


class ExtractionError(ValueError):
    """The document cannot be read; the message is safe to show to the user."""


def kind_of(content_type: str = "", name: str = "") -> str:
    base = (content_type or "").split(";")[0].strip().lower()
    for kind, types in KINDS.items():
        if base in types:
            return kind
    suffix = PurePosixPath(name or "").suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    shown = base or suffix or "unknown"
    raise ExtractionError(f"Unsupported file type ({shown}): upload {ACCEPTED}.")


def extract(data: bytes, kind: str) -> str:
    """The text of ``data`` (bytes of a file of ``kind``), whitespace tidied."""
    readers = {"pdf": _pdf, "html": _html, "markdown": _markdown, "text": _text}
    if kind not in readers:
        raise ExtractionError(f"Unsupported kind {kind!r}: upload {ACCEPTED}.")
    return _tidy(readers[kind](data))


def file_text(file) -> tuple[str, str]:
    """(text, content type) of a ``workspaces.File``."""
    kind = kind_of(file.content_type, file.name or file.file.name)
    try:
        with file.file.open("rb") as handle:
            data = handle.read()
    except (OSError, ValueError) as exc:
        raise ExtractionError(f"The file {file.name!r} cannot be read from storage.") from exc
    content_type = (file.content_type or KINDS[kind][0]).split(";")[0].strip()
    return extract(data, kind), content_type


def _decode(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise ExtractionError("This looks like a binary file, not text.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if len(data) >= 512:  # detection needs some text to be right
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is not None:
            return str(best)
    try:
        return data.decode("cp1252")  # the usual non-UTF-8 text of office software
    except UnicodeDecodeError:
        raise ExtractionError("The text encoding could not be recognised; save the file "
                              "as UTF-8.") from None


def _text(data: bytes) -> str:
    return _decode(data)


def _pdf(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ExtractionError("The PDF is encrypted; upload an unprotected copy.")
        pages = [page.extract_text() or "" for page in reader.pages]
    except ExtractionError:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ExtractionError(f"The PDF cannot be read ({type(exc).__name__}).") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise ExtractionError("The PDF has no text layer (a scan?): no text was found.")
    return text


_BLOCKS = ("p", "div", "li", "tr", "br", "h1", "h2", "h3", "h4", "h5", "h6", "section",
           "article", "blockquote", "pre", "table", "ul", "ol", "dd", "dt")


def _html(data: bytes) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(data), "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head", "svg"]):
        tag.decompose()
    # Block elements end paragraphs, so chunking can break between them.
    for tag in soup.find_all(_BLOCKS):
        tag.insert_after("\n\n")
    return soup.get_text()


_MD_RULES = [
    (re.compile(r"^```.*$|^~~~.*$", re.M), ""),                 # code fences
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),             # images: alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),              # links: their text
    (re.compile(r"^[ \t]{0,3}#{1,6}[ \t]*", re.M), ""),  # headings
    (re.compile(r"^[ \t]{0,3}>[ \t]?", re.M), ""),  # quotes
    (re.compile(r"^[ \t]*(?:[-*+]|\d+[.)])[ \t]+", re.M), ""),  # list markers
    (re.compile(r"^[ \t]*(?:-{3,}|\*{3,}|_{3,})[ \t]*$", re.M), ""),  # rules
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),                   # strong
    (re.compile(r"(?<![\w*])[*_]([^*_\n]+)[*_](?![\w*])"), r"\1"),  # emphasis
    (re.compile(r"`([^`]+)`"), r"\1"),                          # inline code
    (re.compile(r"<[^>\n]+>"), ""),                             # inline HTML tags
]


def _markdown(data: bytes) -> str:
    text = _decode(data)
    for pattern, replacement in _MD_RULES:
        text = pattern.sub(replacement, text)
    return text


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = re.sub(r"[ \t\f\v]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()
