"""Realistic sample files in the predecessor's exact format (steel products, Brazil).

Rows are written as they are generated, so memory stays flat at any size.
Deterministic for a given seed.
"""

import random
from dataclasses import dataclass
from datetime import date, timedelta
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


def _batch(rng: random.Random, day: date) -> str:
    return f"L{day:%y%m}{rng.randrange(100000):05d}"


def generate(directory: Path, *, sales_rows: int, inventory_rows: int | None = None,
             clients: int | None = None, seed: int = 2024,
             start: date = date(2024, 1, 1), days: int = 540) -> SampleFiles:
    """Write both files into ``directory`` with the predecessor's file names."""
    if sales_rows < 1:
        raise ValueError("sales_rows must be at least 1")
    inventory_rows = inventory_rows if inventory_rows is not None else max(1, sales_rows // 12)
    clients = clients or max(5, min(600, sales_rows // 30))
    rng = random.Random(seed)
    codes = sorted(rng.sample(range(1000, 99999), clients))
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
                snapshot.isoformat(), str(client), rng.choice(CENTRES),
                rng.choice(MATERIAL_TYPES), rng.choice(INVENTORY_ORIGINS), code,
                _batch(rng, snapshot - timedelta(days=age)), str(age), product, group,
                f"{rng.uniform(0.5, 60):.3f}", _sku(rng, code),
            )) + "\n")

    with sales.open("w", encoding="utf-8", newline="\n") as out:
        out.write(header_line("sales") + "\n")
        for _ in range(sales_rows):
            client = rng.choice(codes)
            used.add(client)
            code, product, _group, sales_group = rng.choice(PRODUCTS)
            day = start + timedelta(days=rng.randrange(days))
            city, state = rng.choice(CITIES)
            out.write(DELIMITER.join((
                day.isoformat(), str(client), _batch(rng, day), "PRG", sales_group, product,
                code, rng.choice(CENTRES), city, state, f"{rng.uniform(0.2, 35):.3f}",
                f"{rng.uniform(0.1, 12):.4f}", _sku(rng, code),
            )) + "\n")
    return SampleFiles(inventory, sales, inventory_rows, sales_rows, frozenset(used))
