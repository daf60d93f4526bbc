"""Reading an uploaded BI file: encoding, delimiter, header and numbered records.

The file is read as a stream of lines, never whole.  A record is normally one
line; a quoted field may span lines, as in any CSV.  Records the pipeline
cannot split (bad encoding, wrong column count) still come out, numbered, so
the error report can name them.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass

from ..formats import DATASETS, DELIMITER_CANDIDATES, Column

SNIFF_BYTES = 64 * 1024
ENCODING_ERROR = -1  # Record.field_count of a line that is not valid text


class HeaderError(Exception):
    """The header line cannot be used; ``errors`` lists why (line 1)."""

    def __init__(self, errors: list[tuple[str, str, str]]):
        super().__init__("; ".join(f"{c}: {r}" for c, _, r in errors))
        self.errors = errors  # (column, value, reason)


@dataclass
class Record:
    line_no: int  # of the record's first line, counting the header as line 1
    text: str  # the record as in the file, without its line ending
    field_count: int  # ENCODING_ERROR when ``text`` could not be decoded

    def fields(self, delimiter: str) -> list[str]:
        if '"' not in self.text:
            return self.text.split(delimiter)
        return next(csv.reader([self.text], delimiter=delimiter), [])


def detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
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
            errors.append((name, name, "is not a column of the "
                                       f"{dataset} file; expected one of "
                                       + ", ".join(c.header for c in DATASETS[dataset])))
        elif column.name in seen:
            errors.append((name, name, "appears twice in the header"))
        else:
            seen.add(column.name)
            ordered.append(column)
    for column in DATASETS[dataset]:
        if column.name not in seen:
            errors.append((column.header, "", "is missing from the header"))
    if errors:
        raise HeaderError(errors)
    return ordered


def _norm(name: str) -> str:
    return name.strip().strip('"').strip().lower()


class Source:
    """An open file positioned after its header, with what the header told us."""

    def __init__(self, fileobj, dataset: str, *, encoding: str = "", delimiter: str = ""):
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
        self.delimiter = delimiter or detect_delimiter(header, dataset)
        names = next(csv.reader([header], delimiter=self.delimiter))
        self.columns = map_header(dataset, names)

    def _numbered_lines(self) -> Iterator[tuple[int, str, bool]]:
        decode = codecs.getdecoder(self.encoding)
        for line_no, raw in enumerate(self.fileobj, start=1):
            self.bytes_read += len(raw)
            try:
                yield line_no, decode(raw.rstrip(b"\r\n"))[0], True
            except UnicodeDecodeError:
                yield line_no, "", False

    def records(self) -> Iterator[Record]:
        delimiter = self.delimiter
        pending: Record | None = None
        for line_no, text, ok in self._lines:
            if pending is not None:  # inside a quoted field that spans lines
                pending.text += "\n" + text
                if pending.text.count('"') % 2 == 0:
                    pending.field_count = len(pending.fields(delimiter))
                    yield pending
                    pending = None
                continue
            if not ok:
                yield Record(line_no, "", ENCODING_ERROR)
            elif '"' in text:
                record = Record(line_no, text, 0)
                if text.count('"') % 2:
                    pending = record
                    continue
                record.field_count = len(record.fields(delimiter))
                yield record
            elif text:
                yield Record(line_no, text, text.count(delimiter) + 1)
        if pending is not None:  # an unclosed quote runs to the end of the file
            pending.field_count = len(pending.fields(delimiter))
            yield pending
