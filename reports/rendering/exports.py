"""A report's tables as files: one CSV per table, or one XLSX workbook.

CSV is UTF-8, comma-delimited, a header row of column labels with units, numbers as
plain strings (``1234.500``, never ``1.2345E+3``).  The workbook opens with a Summary
sheet (title, parameters, headline figures, notes, the list of sheets), then one sheet
per table with its header bold and frozen and Excel number formats by unit.
"""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from ..data import ReportData, Table
from .html import column_heading, format_value, is_number, parameter_items

SHEET_TITLE_MAX = 31
SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
SUMMARY_SHEET = "Summary"
FORMATS = {"t": "#,##0.000", "%": '0.0"%"'}  # shares are percentage points (12.5 is 12.5 %)
INTEGER_FORMAT = "#,##0"
DATE_FORMAT = "yyyy-mm-dd"
MIN_WIDTH, MAX_WIDTH = 8, 60


def table_csv(table: Table) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow([column_heading(column) for column in table.columns])
    for row in table.rows:
        writer.writerow([_csv_value(value) for value in row])
    return buffer.getvalue().encode("utf-8")


def csv_files(data: ReportData) -> list[tuple[str, bytes]]:
    """``(<table key>.csv, bytes)`` for every table, in report order (empty ones too)."""
    return [(f"{table.key}.csv", table_csv(table)) for table in data.tables]


def xlsx(data: ReportData, *, title: str | None = None,
         generated_at: datetime | None = None) -> bytes:
    # Write-only: rows stream into the file instead of a grid of cell objects,
    # which keeps a ten-thousand-row table well under a second.
    workbook = Workbook(write_only=True)
    summary = workbook.create_sheet(SUMMARY_SHEET)
    names = _sheet_names([table.key for table in data.tables], taken={SUMMARY_SHEET})
    _summary_sheet(summary, data, title or data.title, generated_at,
                   list(zip(names, data.tables, strict=True)))
    for name, table in zip(names, data.tables, strict=True):
        _table_sheet(workbook.create_sheet(name), table)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- CSV --------------------------------------------------------------------------------


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


# --- XLSX -------------------------------------------------------------------------------


def _sheet_names(keys: list[str], *, taken: set[str]) -> list[str]:
    """Sheet titles: Excel's forbidden characters out, at most 31 characters, unique
    (Excel compares them case-insensitively)."""
    used = {name.lower() for name in taken}
    names = []
    for key in keys:
        base = SHEET_FORBIDDEN.sub("_", key).strip("'") or "Sheet"
        name = base[:SHEET_TITLE_MAX]
        number = 2
        while name.lower() in used:
            suffix = f"_{number}"
            name = base[: SHEET_TITLE_MAX - len(suffix)] + suffix
            number += 1
        used.add(name.lower())
        names.append(name)
    return names


def _cell_value(value: Any) -> Any:
    """What openpyxl stores: numbers stay numbers (Decimal kept exact), None is blank."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Decimal) and not value.is_finite():
        return None
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value).replace(tzinfo=None)  # Excel has no time zones
    if value is None or isinstance(value, int | float | Decimal | date | str):
        return value
    return str(value)


def _number_format(value: Any, unit: str = "") -> str | None:
    if isinstance(value, datetime):
        return "yyyy-mm-dd hh:mm"
    if isinstance(value, date):
        return DATE_FORMAT
    if not is_number(value):
        return None
    if unit in FORMATS:
        return FORMATS[unit]
    if isinstance(value, int):
        return INTEGER_FORMAT
    places = (min(max(-value.as_tuple().exponent, 0), 3) if isinstance(value, Decimal) else 2)
    return INTEGER_FORMAT + ("." + "0" * places if places else "")


def _shown_width(value: Any, unit: str = "") -> int:
    """About how many characters the formatted value takes (for the column width)."""
    if value is None:
        return 0
    if is_number(value):
        return len(format_value(value, unit)) + (1 if unit == "%" else 0)
    return len(_csv_value(value))


WIDTH_SAMPLE_ROWS = 500


def _fit_columns(sheet, widths: dict[int, int]) -> None:
    for index, width in widths.items():
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = min(max(width + 2, MIN_WIDTH), MAX_WIDTH)


def _table_sheet(sheet, table: Table) -> None:
    head = table.rows[:WIDTH_SAMPLE_ROWS]
    widths = {index: max([len(column_heading(column)),
                          *(_shown_width(row[index - 1], column.unit) for row in head)])
              for index, column in enumerate(table.columns, start=1)}
    _fit_columns(sheet, widths)  # before any row: write-only sheets set widths first
    sheet.freeze_panes = "A2"
    if table.rows and table.columns:
        sheet.auto_filter.ref = (f"A1:{get_column_letter(len(table.columns))}"
                                 f"{len(table.rows) + 1}")
    sheet.append([_bold(sheet, column_heading(column)) for column in table.columns])
    formats = [_column_format(table, i) for i in range(len(table.columns))]
    for row in table.rows:
        sheet.append([_cell(sheet, value, fmt) if fmt and value is not None
                      else _cell_value(value) for value, fmt in zip(row, formats, strict=True)])


def _column_format(table: Table, index: int) -> str | None:
    """One number format per column, from its unit or its first value."""
    column = table.columns[index]
    sample = next((row[index] for row in table.rows if row[index] is not None), None)
    if column.unit in FORMATS and is_number(sample):
        return FORMATS[column.unit]
    if sample is None or not isinstance(sample, Decimal):
        return _number_format(sample, column.unit)
    places = max((min(max(-row[index].as_tuple().exponent, 0), 3)
                  for row in table.rows[:WIDTH_SAMPLE_ROWS]
                  if isinstance(row[index], Decimal) and row[index].is_finite()), default=0)
    return INTEGER_FORMAT + ("." + "0" * places if places else "")


def _cell(sheet, value: Any, number_format: str | None) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=_cell_value(value))
    if number_format and (is_number(value) or isinstance(value, date)):
        cell.number_format = number_format
    return cell


def _bold(sheet, value: Any, size: int | None = None) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.font = Font(bold=True, size=size) if size else Font(bold=True)
    return cell


def _summary_sheet(sheet, data: ReportData, title: str, generated_at: datetime | None,
                   sheets: list[tuple[str, Table]]) -> None:
    rows: list[list] = [[_bold(sheet, title, 14)], [_bold(sheet, "Report"), data.kind]]
    if generated_at is not None:
        rows.append([_bold(sheet, "Generated"), _cell(sheet, generated_at,
                                                      _number_format(generated_at))])
    widths = {1: 12, 2: len(title) // 2}

    def section(heading: str, items: list[tuple[str, Any]]) -> None:
        if not items:
            return
        rows.extend([[], [_bold(sheet, heading)]])
        for label, value in items:
            rows.append([label, _cell(sheet, value, _number_format(value))
                         if value is not None else None])
            widths[1] = max(widths[1], len(str(label)))
            widths[2] = max(widths[2], _shown_width(value))

    section("Parameters", parameter_items(data.parameters))
    if data.is_empty:
        section("Result", [("No data for these parameters", "")])
    section("Summary", list(data.summary))
    section("Sheets", [(name, table.title) for name, table in sheets])
    section("Notes", [(note, None) for note in data.notes])
    _fit_columns(sheet, {1: min(widths[1], 40), 2: widths[2]})
    for row in rows:
        sheet.append(row)
