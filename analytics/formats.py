"""The predecessor's BI file formats, in one place.

Two pipe-delimited files with a header row (`estoque 1.csv`, inventory;
`faturamento 1.csv`, sales), loaded by the predecessor with
``psql \\COPY ... WITH (FORMAT csv, HEADER true, DELIMITER '|')``.  Each
column is listed with the English name our models use for it.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    header: str  # as in the predecessor's files
    name: str  # our field name
    kind: str  # date | int | decimal | text
    max_length: int | None = None  # text: longest accepted value
    digits: tuple[int, int] = (14, 3)  # decimal: (max digits, decimal places)
    non_negative: bool = False  # decimal: weights cannot be negative

    @property
    def integer_digits(self) -> int:
        return self.digits[0] - self.digits[1]


INVENTORY = (
    Column("data", "snapshot_date", "date"),
    Column("cod_cliente", "client_code", "int"),
    Column("es_centro", "centre", "text", 50),
    Column("tipo_material", "material_type", "text", 100),
    Column("origem", "origin", "text", 50),
    Column("cod_produto", "product_code", "text", 50),
    Column("lote", "batch", "text", 50),
    Column("dias_em_estoque", "days_in_stock", "int"),
    Column("produto", "product", "text", 100),
    Column("grupo_mercadoria", "product_group", "text", 100),
    Column("es_totalestoque", "stock_tonnes", "decimal", non_negative=True),
    Column("SKU", "sku", "text", 50),
)

SALES = (
    Column("data", "sale_date", "date"),
    Column("cod_cliente", "client_code", "int"),
    Column("lote", "batch", "text", 50),
    Column("origem", "origin", "text", 50),
    Column("zs_gr_mercad", "product_group", "text", 100),
    Column("produto", "product", "text", 100),
    Column("cod_produto", "product_code", "text", 50),
    Column("zs_centro", "centre", "text", 50),
    Column("zs_cidade", "city", "text", 100),
    Column("zs_uf", "state", "text", 10),
    Column("zs_peso_liquido", "net_weight_tonnes", "decimal", non_negative=True),
    Column("giro_sku_cliente", "sku_client_turnover", "decimal", digits=(14, 4)),
    Column("SKU", "sku", "text", 50),
)

DATASETS = {"inventory": INVENTORY, "sales": SALES}
PREDECESSOR_FILENAMES = {"inventory": "estoque 1.csv", "sales": "faturamento 1.csv"}
DELIMITER = "|"
# Delimiters tried when a file does not say; the predecessor's comes first.
DELIMITER_CANDIDATES = ("|", ";", ",", "\t")

# What trimming a value removes, alike in Python and PostgreSQL: ASCII whitespace and
# the no-break spaces spreadsheets export (Python's str.strip() removes more, btrim()
# only spaces).
BLANKS = " \t\n\r\x0b\x0c\u00a0\u2007\u202f"

# Accepted value shapes.  The same patterns run in Python (SQLite, and for
# reading headers) and in PostgreSQL's regular expressions (the COPY path), so
# they stay in the subset both understand.  Every value is trimmed first.
DATE_PATTERNS = {
    # 2025-06-24: the source files' own format
    "iso": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    # 24/06/2025: Brazilian exports
    "br": r"^[0-9]{2}/[0-9]{2}/[0-9]{4}$",
    # 2025-06-24 10:30[:00[.000]], optionally with Z or an offset: the
    # predecessor's TIMESTAMP columns.  Offsets convert to the source zone.
    # The offset is a real one (-14:00 to +14:00): PostgreSQL refuses larger ones, and
    # Python would read +03:99 as +04:39.
    "timestamp": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?"
                 r"(Z|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)?$",
}
INT_PATTERN = r"^[0-9]{1,9}$"
DECIMAL_PATTERN = r"^-?[0-9]+([.,][0-9]+)?$"  # decimal comma or point, no thousands marks


def header_line(dataset: str) -> str:
    return DELIMITER.join(c.header for c in DATASETS[dataset])
