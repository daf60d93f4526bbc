"""Sample BI files match the predecessor's format exactly."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from analytics.formats import DATASETS, header_line
from analytics.sample import generate

PREDECESSOR_DDL = """
CREATE TEMP TABLE clientes (cod_cliente INTEGER PRIMARY KEY, nome VARCHAR(100));
CREATE TEMP TABLE estoque (id SERIAL PRIMARY KEY, data TIMESTAMP NOT NULL,
  cod_cliente INTEGER REFERENCES clientes(cod_cliente), es_centro VARCHAR(50) NOT NULL,
  tipo_material VARCHAR(100) NOT NULL, origem VARCHAR(50) NOT NULL,
  cod_produto VARCHAR(50) NOT NULL, lote VARCHAR(50) NOT NULL,
  dias_em_estoque INTEGER NOT NULL, produto VARCHAR(100) NOT NULL,
  grupo_mercadoria VARCHAR(100) NOT NULL, es_totalestoque NUMERIC NOT NULL,
  "SKU" VARCHAR(50) NOT NULL);
CREATE TEMP TABLE faturamento (id SERIAL PRIMARY KEY, data TIMESTAMP NOT NULL,
  cod_cliente INTEGER REFERENCES clientes(cod_cliente), lote VARCHAR(50) NOT NULL,
  origem VARCHAR(50) NOT NULL, zs_gr_mercad VARCHAR(100) NOT NULL,
  produto VARCHAR(100) NOT NULL, cod_produto VARCHAR(50) NOT NULL,
  zs_centro VARCHAR(50) NOT NULL, zs_cidade VARCHAR(100) NOT NULL, zs_uf VARCHAR(10) NOT NULL,
  zs_peso_liquido NUMERIC NOT NULL, giro_sku_cliente NUMERIC NOT NULL,
  "SKU" VARCHAR(50) NOT NULL);
"""


def rows(path):
    with path.open(encoding="utf-8") as f:
        return list(csv.reader(f, delimiter="|"))


def test_files_have_the_predecessor_headers_and_valid_values(tmp_path):
    files = generate(tmp_path, sales_rows=300, inventory_rows=40, clients=12, seed=1)
    assert files.inventory.name == "estoque 1.csv" and files.sales.name == "faturamento 1.csv"
    for dataset, path, count in (("inventory", files.inventory, 40),
                                 ("sales", files.sales, 300)):
        header, *body = rows(path)
        assert "|".join(header) == header_line(dataset)
        assert len(body) == count
        for row in body:
            assert len(row) == len(DATASETS[dataset])
            values = dict(zip([c.kind for c in DATASETS[dataset]], row, strict=False))
            date.fromisoformat(row[0])
            int(row[1])
            for column, value in zip(DATASETS[dataset], row, strict=True):
                if column.kind == "decimal":
                    assert Decimal(value) > 0
                if column.max_length:
                    assert 0 < len(value) <= column.max_length
            assert values
    assert len(files.client_codes) <= 12


def test_same_seed_same_files(tmp_path):
    first = generate(tmp_path / "a", sales_rows=50, seed=3)
    second = generate(tmp_path / "b", sales_rows=50, seed=3)
    assert first.sales.read_bytes() == second.sales.read_bytes()
    assert first.inventory.read_bytes() == second.inventory.read_bytes()


def test_command_writes_files_and_rejects_bad_counts(tmp_path):
    out = io.StringIO()
    call_command("generate_bi_sample", "--rows", "24", "--output", str(tmp_path), stdout=out)
    assert "24 rows" in out.getvalue()
    with pytest.raises(CommandError, match="--rows"):
        call_command("generate_bi_sample", "--rows", "0", "--output", str(tmp_path))


@pytest.mark.postgres
@pytest.mark.django_db
def test_files_load_with_the_predecessors_own_copy_commands(tmp_path):
    """The predecessor's script, step by step: client master, then both \\COPYs."""
    files = generate(tmp_path, sales_rows=500, inventory_rows=60, clients=20, seed=9)
    codes = sorted(files.client_codes)
    with connection.cursor() as cursor:
        cursor.execute(PREDECESSOR_DDL)
        for code in codes:
            cursor.execute("INSERT INTO clientes (cod_cliente) VALUES (%s)", [code])
        raw = cursor.cursor  # psycopg's own cursor, for COPY FROM STDIN
        for table, path in (("estoque", files.inventory), ("faturamento", files.sales)):
            columns = ", ".join(f'"{c}"' if c == "SKU" else c for c in rows(path)[0])
            with raw.copy(f"COPY {table} ({columns}) FROM STDIN "
                          "WITH (FORMAT csv, HEADER true, DELIMITER '|')") as copy:
                copy.write(path.read_bytes())
        cursor.execute("SELECT count(*) FROM estoque")
        assert cursor.fetchone()[0] == 60
        cursor.execute("SELECT count(*), sum(zs_peso_liquido) > 0 FROM faturamento")
        assert cursor.fetchone() == (500, True)
