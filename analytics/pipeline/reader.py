"""Reading an uploaded BI file: encoding, delimiter, header and numbered records.

The file is read as a stream of lines, never whole.  A record is normally one
line; a quoted field may span lines, as in any CSV.  Records the pipeline
cannot split (bad encoding, wrong column count) still come out, numbered, so
the error report can name them.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..formats import (
    BLANKS,
    DATASETS,
    DATE_PATTERNS,
    DECIMAL_PATTERN,
    DELIMITER_CANDIDATES,
    INT_PATTERN,
    Column,
)

SNIFF_BYTES = 64 * 1024
ENCODING_ERROR = -1  # Record.field_count of a line that is not valid text
# Header names and values quoted in errors are cut to this many characters.
QUOTE_CHARS = 200
# A quoted field as long as the line it is on: an over-long value is the row's error
# ("longer than N characters"), not csv's 128 KB limit stopping the whole import.
csv.field_size_limit(2**31 - 1)
# Encodings whose line endings are not the byte b"\n": read as text, not line by line.
WIDE_ENCODINGS = ("utf16", "utf32", "utf_16", "utf_32", "utf-16", "utf-32")

# Where a line leaves a record, by Python's csv rules (doublequote, no escapechar):
# a quote opens a quoted field only at the start of a field, so an inch mark inside
# a value (``Tubo 2"``) is a character and never swallows the lines after it.
FIELD_START, IN_FIELD, IN_QUOTES, QUOTE_IN_QUOTES = range(4)


def quote_state(text: str, delimiter: str, state: int = FIELD_START) -> int:
    for char in text:
        if state == IN_QUOTES:
            if char == '"':
                state = QUOTE_IN_QUOTES
        elif char == delimiter:
            state = FIELD_START
        elif state in (FIELD_START, QUOTE_IN_QUOTES):  # "" in quotes is a quote
            state = IN_QUOTES if char == '"' else IN_FIELD
    return state


def is_wide(encoding: str) -> bool:
    return encoding.lower().replace(" ", "").startswith(WIDE_ENCODINGS)


class HeaderError(Exception):
    """The header line cannot be used; ``errors`` lists why (line 1)."""

    def __init__(self, errors: list[tuple[str, str, str]],
                 summary: str = "The header line cannot be used"):
        super().__init__("; ".join(f"{c}: {r}" for c, _, r in errors))
        self.errors = errors  # (column, value, reason)
        self.summary = summary  # the job's message, before "; nothing was loaded."


@dataclass
class Record:
    line_no: int  # of the record's first line, counting the header as line 1
    text: str  # the record as in the file, without its line ending
    field_count: int  # ENCODING_ERROR when ``text`` could not be decoded
    state: int = FIELD_START  # csv state at the end of ``text``

    def fields(self, delimiter: str) -> list[str]:
        if '"' not in self.text:
            return self.text.split(delimiter)
        return next(csv.reader(io.StringIO(self.text, newline=""), delimiter=delimiter), [])


def detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode Text"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sniff window is still UTF-8.
        if exc.start < len(head) - 3:
            return "cp1252"
    return "utf-8"


def detect_delimiter(header: str, dataset: str) -> str:
    known = {_norm(c.header) for c in DATASETS[dataset]} | {_norm(c.name) for c in
                                                           DATASETS[dataset]}
    return pick_delimiter(header, known)


def pick_delimiter(header: str, known: set[str]) -> str:
    """The candidate delimiter that splits ``header`` into the most known column names."""
    def score(d: str) -> tuple[int, int]:
        parts = [_norm(p) for p in header.split(d)]
        return sum(p in known for p in parts), len(parts)
    return max(DELIMITER_CANDIDATES, key=score)


def map_header(dataset: str, names: list[str]) -> list[Column]:
    """The dataset's columns in the file's order; headers match case-insensitively.

    The predecessor's Portuguese headers and our English field names are both
    accepted; column order is free.
    """
    by_name: dict[str, Column] = {}
    for column in DATASETS[dataset]:
        by_name[_norm(column.header)] = column
        by_name[_norm(column.name)] = column
    errors, seen, ordered = [], set(), []
    for name in names:
        column = by_name.get(_norm(name))
        if column is None:
            name = name[:QUOTE_CHARS]
            errors.append((name, name, "is not a column of the "
                                       f"{dataset} file; expected one of "
                                       + ", ".join(c.header for c in DATASETS[dataset])))
        elif column.name in seen:
            errors.append((name[:QUOTE_CHARS], name[:QUOTE_CHARS],
                           "appears twice in the header"))
        else:
            seen.add(column.name)
            ordered.append(column)
    for column in DATASETS[dataset]:
        if column.name not in seen:
            errors.append((column.header, "", "is missing from the header"))
    if errors:
        raise HeaderError(errors)
    return ordered


# Shapes only values have: a first line with several of them and no column name is a
# data row, the header forgotten (one clear error instead of one per field).
_VALUE_SHAPES = [re.compile(p) for p in (*DATE_PATTERNS.values(), INT_PATTERN,
                                          DECIMAL_PATTERN)]


def missing_header(dataset: str, names: list[str], line: str,
                   delimiter: str) -> HeaderError | None:
    """The error for a first line that is data rather than a header, or None."""
    known = {_norm(c.header) for c in DATASETS[dataset]} | {_norm(c.name) for c in
                                                           DATASETS[dataset]}
    if any(_norm(name) in known for name in names):
        return None
    values = sum(any(p.match(n.strip(BLANKS)) for p in _VALUE_SHAPES) for n in names)
    if values < 2:
        return None  # some other file's header: the per-column errors say more
    expected = delimiter.join(c.header for c in DATASETS[dataset])
    return HeaderError(
        [("", line[:QUOTE_CHARS],
          "looks like a data row, not a header: the header line seems to be missing. "
          f"The first line must name the {len(DATASETS[dataset])} columns of the "
          f"{dataset} file, in any order: {expected}")],
        summary="The header line seems to be missing (line 1 is data)")


def _norm(name: str) -> str:
    return name.strip().strip('"').strip().lower()


def norm_header(name: str) -> str:
    """A header name as compared: trimmed, unquoted, lower case."""
    return _norm(name)


class BiHeader:
    """The header rules of a BI dataset (``analytics.formats.DATASETS``).

    ``Source`` reads any file whose header object offers ``known()``,
    ``map_header(names)`` and ``missing_header(names, line, delimiter)``; other apps'
    import formats (crm's contacts) bring their own.
    """

    def __init__(self, dataset: str):
        self.dataset = dataset

    def known(self) -> set[str]:
        columns = DATASETS[self.dataset]
        return {_norm(c.header) for c in columns} | {_norm(c.name) for c in columns}

    def map_header(self, names: list[str]) -> list:
        return map_header(self.dataset, names)

    def missing_header(self, names: list[str], line: str, delimiter: str):
        return missing_header(self.dataset, names, line, delimiter)


class Source:
    """An open file positioned after its header, with what the header told us."""

    def __init__(self, fileobj, dataset, *, encoding: str = "", delimiter: str = ""):
        """``dataset``: a BI dataset's name, or a header object (see ``BiHeader``)."""
        header_rules = BiHeader(dataset) if isinstance(dataset, str) else dataset
        self.fileobj = fileobj
        head = fileobj.read(SNIFF_BYTES)
        fileobj.seek(0)
        self.encoding = encoding or detect_encoding(head)
        self.bytes_read = 0
        self._lines = self._numbered_lines()
        header = next((text for _, text, ok in self._lines if ok and text.strip()), None)
        if header is None:
            raise HeaderError([("", "", "the file is empty: expected a header line")])
        header = header.lstrip("\ufeff")
        self.delimiter = delimiter or pick_delimiter(header, header_rules.known())
        names = next(csv.reader([header], delimiter=self.delimiter))
        if error := header_rules.missing_header(names, header, self.delimiter):
            raise error
        self.columns = header_rules.map_header(names)

    def _numbered_lines(self) -> Iterator[tuple[int, str, bool]]:
        if is_wide(self.encoding):
            yield from self._wide_lines()
            return
        decode = codecs.getdecoder(self.encoding)
        for line_no, raw in enumerate(self.fileobj, start=1):
            self.bytes_read += len(raw)
            if b"\x00" in raw:  # not text (and PostgreSQL text cannot hold it)
                yield line_no, "", False
                continue
            try:
                yield line_no, decode(raw.rstrip(b"\r\n"))[0], True
            except UnicodeError:
                yield line_no, "", False

    def _wide_lines(self) -> Iterator[tuple[int, str, bool]]:
        """UTF-16/32: decoded as a stream; a line with an undecodable sequence is bad."""
        width = 4 if "32" in self.encoding else 2
        text = io.TextIOWrapper(self.fileobj, encoding=self.encoding, errors="replace",
                                newline="")
        try:
            for line_no, line in enumerate(text, start=1):
                self.bytes_read += len(line) * width
                line = line.rstrip("\r\n")
                ok = "\ufffd" not in line and "\x00" not in line
                yield line_no, line.lstrip("\ufeff") if ok else "", ok
        finally:
            text.detach()  # the caller closes the file

    def records(self) -> Iterator[Record]:
        """Numbered records; lines with no value at all (blank, or only delimiters and
        spaces, as spreadsheets export empty rows) are skipped."""
        delimiter = self.delimiter
        blank = delimiter + " \t"
        pending: Record | None = None
        for line_no, text, ok in self._lines:
            if pending is not None:  # inside a quoted field that spans lines
                pending.text += "\n" + text
                pending.state = quote_state("\n" + text, delimiter, pending.state)
                if pending.state != IN_QUOTES:
                    pending.field_count = len(pending.fields(delimiter))
                    yield pending
                    pending = None
                continue
            if not ok:
                yield Record(line_no, "", ENCODING_ERROR)
            elif '"' in text:
                record = Record(line_no, text, 0, quote_state(text, delimiter))
                if record.state == IN_QUOTES:
                    pending = record
                    continue
                record.field_count = len(record.fields(delimiter))
                yield record
            elif text.strip(blank):
                yield Record(line_no, text, text.count(delimiter) + 1)
        if pending is not None:  # an unclosed quote runs to the end of the file
            pending.field_count = len(pending.fields(delimiter))
            yield pending
