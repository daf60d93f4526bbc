"""What a report query hands to the renderers: tables, charts and headline figures.

The contract between ``reports.queries`` (which compute in the database) and
``reports.rendering`` (HTML with inline SVG charts, PNG for email, CSV, XLSX).
Rows are small here: they are aggregates, never raw BI rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class ReportParameters:
    """What a definition stores and a run records as the parameters used.

    Every filter is optional; an empty tuple means "all".  ``date_from`` and
    ``date_to`` are inclusive.  Weights are metric tons throughout.
    """

    date_from: date | None = None
    date_to: date | None = None
    clients: tuple[int, ...] = ()  # client codes (cod_cliente)
    states: tuple[str, ...] = ()  # UF, e.g. "PR"
    skus: tuple[str, ...] = ()
    product_groups: tuple[str, ...] = ()
    grouping: str = "month"  # month | quarter: the period used by trend tables
    top_n: int = 10  # top/bottom clients, products shown in charts
    forecast_months: int = 3
    holdout_months: int = 3  # months held back to measure forecast error
    overstock_months: Decimal = Decimal("6")  # cover above this -> overstock
    reorder_months: Decimal = Decimal("1")  # cover below this -> reorder

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> ReportParameters:
        raw = dict(raw or {})
        out: dict[str, Any] = {}
        for key in ("date_from", "date_to"):
            if raw.get(key):
                value = raw[key]
                out[key] = value if isinstance(value, date) else date.fromisoformat(str(value))
        for key in ("clients", "states", "skus", "product_groups"):
            if raw.get(key):
                out[key] = tuple(raw[key])
        for key in ("grouping",):
            if raw.get(key):
                out[key] = str(raw[key])
        for key in ("top_n", "forecast_months", "holdout_months"):
            if raw.get(key) not in (None, ""):
                out[key] = int(raw[key])
        for key in ("overstock_months", "reorder_months"):
            if raw.get(key) not in (None, ""):
                out[key] = Decimal(str(raw[key]))
        return cls(**out)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, as stored on a run ("parameters used")."""
        return {
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "clients": list(self.clients),
            "states": list(self.states),
            "skus": list(self.skus),
            "product_groups": list(self.product_groups),
            "grouping": self.grouping,
            "top_n": self.top_n,
            "forecast_months": self.forecast_months,
            "holdout_months": self.holdout_months,
            "overstock_months": str(self.overstock_months),
            "reorder_months": str(self.reorder_months),
        }


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    unit: str = ""  # "t" for metric tons, "%" for shares, "" otherwise


@dataclass
class Table:
    key: str  # file-name safe: used as the CSV name and XLSX sheet name
    title: str
    columns: list[Column]
    rows: list[tuple]  # one tuple per row, values in column order

    @property
    def is_empty(self) -> bool:
        return not self.rows


@dataclass(frozen=True)
class Chart:
    """A chart drawn from one table: ``x`` is a column key, ``series`` column keys."""

    key: str
    title: str
    table: str
    x: str
    series: tuple[str, ...]
    kind: str = "bar"  # bar | barh | line | stacked
    x_label: str = ""
    y_label: str = "Weight (t)"


@dataclass
class ReportData:
    kind: str
    title: str
    parameters: ReportParameters
    summary: list[tuple[str, Any]] = field(default_factory=list)  # headline figures
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # method notes shown under the tables

    @property
    def is_empty(self) -> bool:
        return all(t.is_empty for t in self.tables)

    @property
    def row_count(self) -> int:
        return sum(len(t.rows) for t in self.tables)

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)
