"""Realistic sample files in the predecessor's exact format (steel products, Brazil).

Rows are written as they are generated, so memory stays flat at any size.
Deterministic for a given seed.  ``timestamps=True`` writes ``data`` as the
predecessor's ``TIMESTAMP`` columns export it (``2024-01-01 00:01:05``), the
shape of real extracts; the default writes dates only.
"""

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from .formats import DELIMITER, PREDECESSOR_FILENAMES, header_line

CENTRES = ("1101", "1201", "22D1", "32D1")
MATERIAL_TYPES = ("Materia Prima", "Produto Acabado")
INVENTORY_ORIGINS = ("E_PRG_REF", "S_PRG_REF")
# (product code, product, group in inventory, group in sales)
PRODUCTS = (
    ("BFF", "Bobina", "Laminado a Frio", "LAMINADO A FRIO"),
    ("RFF", "Rolo", "Laminado a Frio", "LAMINADO A FRIO"),
    ("RFQD", "Rolo", "Laminado a Quente", "LAMINADO A QUENTE"),
    ("CG", "Chapa", "Laminado a Quente", "LAMINADO A QUENTE"),
    ("CZN", "Chapa", "Zincado", "ZINCADO"),
    ("BZN", "Bobina", "Zincado", "ZINCADO"),
)
THICKNESSES = ("0.43", "0.50", "0.65", "0.80", "1.20", "2.00", "3.00", "4.75")
WIDTHS = ("1000", "1200", "1250", "1500")
CITIES = (
    ("CURITIBA", "PR"), ("LONDRINA", "PR"), ("MARINGA", "PR"), ("SAO PAULO", "SP"),
    ("CAMPINAS", "SP"), ("POMPEIA", "SP"), ("SOROCABA", "SP"), ("JOINVILLE", "SC"),
    ("BLUMENAU", "SC"), ("PORTO ALEGRE", "RS"), ("CAXIAS DO SUL", "RS"),
    ("BELO HORIZONTE", "MG"), ("CONTAGEM", "MG"), ("GOIANIA", "GO"), ("SALVADOR", "BA"),
    ("RECIFE", "PE"), ("MANAUS", "AM"), ("RIO DE JANEIRO", "RJ"),
)


@dataclass(frozen=True)
class SampleFiles:
    inventory: Path
    sales: Path
    inventory_rows: int
    sales_rows: int
    client_codes: frozenset[int]


def _sku(rng: random.Random, code: str) -> str:
    return f"{code}-{rng.choice(THICKNESSES)}X{rng.choice(WIDTHS)}"


def _sku_pool(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """``count`` distinct (product code, SKU) pairs: one grade letter per extra lap."""
    plain = [(p[0], f"{p[0]}-{t}X{w}") for p in PRODUCTS for t in THICKNESSES for w in WIDTHS]
    pool = [(code, sku if lap == 0 else f"{sku}-{chr(64 + lap)}")
            for lap in range(-(-count // len(plain))) for code, sku in plain]
    return rng.sample(pool, count)


def _batch(rng: random.Random, day: date) -> str:
    return f"L{day:%y%m}{rng.randrange(100000):05d}"


def _when(rng: random.Random, day: date, timestamps: bool) -> str:
    if not timestamps:
        return day.isoformat()
    # Invoices are issued round the clock by the source system, to the second.
    return (datetime.combine(day, time()) + timedelta(seconds=rng.randrange(86400))).isoformat(" ")


def generate(directory: Path, *, sales_rows: int, inventory_rows: int | None = None,
             clients: int | None = None, seed: int = 2024,
             start: date = date(2024, 1, 1), days: int = 540, skus: int | None = None,
             timestamps: bool = False) -> SampleFiles:
    """Write both files into ``directory`` with the predecessor's file names.

    ``skus``: how many distinct sales SKUs to draw from (default: every
    product, thickness and width, 192).
    """
    if sales_rows < 1:
        raise ValueError("sales_rows must be at least 1")
    inventory_rows = inventory_rows if inventory_rows is not None else max(1, sales_rows // 12)
    clients = clients or max(5, min(600, sales_rows // 30))
    rng = random.Random(seed)
    codes = sorted(rng.sample(range(1000, 99999), clients))
    sku_pool = _sku_pool(rng, skus) if skus else None
    products = {p[0]: p for p in PRODUCTS}
    directory.mkdir(parents=True, exist_ok=True)
    inventory = directory / PREDECESSOR_FILENAMES["inventory"]
    sales = directory / PREDECESSOR_FILENAMES["sales"]
    used: set[int] = set()

    with inventory.open("w", encoding="utf-8", newline="\n") as out:
        out.write(header_line("inventory") + "\n")
        snapshot = start + timedelta(days=days)
        for _ in range(inventory_rows):
            client = rng.choice(codes)
            used.add(client)
            code, product, group, _sales_group = rng.choice(PRODUCTS)
            age = int(rng.triangular(0, 400, 30))
            out.write(DELIMITER.join((
                _when(rng, snapshot, timestamps), str(client), rng.choice(CENTRES),
                rng.choice(MATERIAL_TYPES), rng.choice(INVENTORY_ORIGINS), code,
                _batch(rng, snapshot - timedelta(days=age)), str(age), product, group,
                f"{rng.uniform(0.5, 60):.3f}", _sku(rng, code),
            )) + "\n")

    with sales.open("w", encoding="utf-8", newline="\n") as out:
        out.write(header_line("sales") + "\n")
        for _ in range(sales_rows):
            client = rng.choice(codes)
            used.add(client)
            if sku_pool:
                code, sku = rng.choice(sku_pool)
                _code, product, _group, sales_group = products[code]
            else:
                code, product, _group, sales_group = rng.choice(PRODUCTS)
                sku = _sku(rng, code)
            day = start + timedelta(days=rng.randrange(days))
            city, state = rng.choice(CITIES)
            out.write(DELIMITER.join((
                _when(rng, day, timestamps), str(client), _batch(rng, day), "PRG", sales_group,
                product, code, rng.choice(CENTRES), city, state, f"{rng.uniform(0.2, 35):.3f}",
                f"{rng.uniform(0.1, 12):.4f}", sku,
            )) + "\n")
    return SampleFiles(inventory, sales, inventory_rows, sales_rows, frozenset(used))
