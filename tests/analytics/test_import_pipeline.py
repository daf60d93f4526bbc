"""The BI import pipeline, end to end, on the database the suite runs on (PostgreSQL in CI)."""

from datetime import date
from decimal import Decimal

import pytest

from analytics.models import Client, ImportJob, InventoryRecord, SaleRecord
from tests.factories import ClientFactory, WorkspaceFactory

from .helpers import csv_file, fixture_file, report_rows, run_import, run_one, sale, stock

pytestmark = pytest.mark.django_db

S = ImportJob.Status


@pytest.fixture
def workspace():
    return WorkspaceFactory()


def test_predecessor_files_import_and_clients_follow_its_naming_rule(workspace):
    inventory, sales = run_import(workspace, uploads={"inventory": fixture_file("inventory"),
                                                      "sales": fixture_file("sales")})
    assert (inventory.status, sales.status) == (S.SUCCEEDED, S.SUCCEEDED), sales.message
    assert InventoryRecord.objects.filter(workspace=workspace).count() == 8
    assert SaleRecord.objects.filter(workspace=workspace).count() == 40
    assert inventory.rows_imported == 8 and sales.rows_imported == 40
    # The predecessor: sort -u over cod_cliente of both files, then
    # 'Cliente ' || ROW_NUMBER() OVER (ORDER BY cod_cliente).
    codes = set()
    for name in ("estoque 1.csv", "faturamento 1.csv"):
        lines = (fixture_file("sales" if name.startswith("f") else "inventory")
                 .read().decode().splitlines()[1:])
        codes |= {int(line.split("|")[1]) for line in lines}
    expected = [(code, f"Cliente {n}") for n, code in enumerate(sorted(codes), start=1)]
    assert list(Client.objects.filter(workspace=workspace).order_by("code")
                .values_list("code", "name")) == expected
    first = SaleRecord.objects.get(workspace=workspace, batch="L241137302")
    assert (first.sale_date, first.client.code, first.net_weight_tonnes, first.state) == (
        date(2024, 11, 13), 7328, Decimal("31.069"), "BA")
    assert first.import_job == sales


def test_new_clients_continue_the_numbering_and_existing_names_stay(workspace):
    ClientFactory(workspace=workspace, code=500, name="Aço Forte Ltda")
    ClientFactory(workspace=workspace, code=900, name="Cliente 7")
    job = run_one(workspace, "sales", csv_file("sales", [
        sale(client_code="900"), sale(client_code="20"), sale(client_code="10"),
        sale(client_code="500")]))
    assert job.status == S.SUCCEEDED and job.clients_created == 2
    assert dict(Client.objects.filter(workspace=workspace).values_list("code", "name")) == {
        500: "Aço Forte Ltda", 900: "Cliente 7", 10: "Cliente 8", 20: "Cliente 9"}


def test_a_client_code_in_both_files_yields_one_client(workspace):
    run_import(workspace, uploads={
        "inventory": csv_file("inventory", [stock(client_code="42")]),
        "sales": csv_file("sales", [sale(client_code="42"), sale(client_code="42")])})
    assert list(Client.objects.filter(workspace=workspace).values_list("code", "name")) == [
        (42, "Cliente 1")]
    run_one(workspace, "sales", csv_file("sales", [sale(client_code="42", batch="B2")]))
    assert Client.objects.filter(workspace=workspace).count() == 1


BAD_ROWS = [
    # (row, column header, reason fragment)
    (sale()[:-1], "", "has 12 fields; expected 13"),
    (sale(sale_date="13/31/2024"), "data", "not a real calendar date"),
    (sale(sale_date="2024-02-30"), "data", "not a real calendar date"),
    (sale(sale_date="yesterday"), "data", "is not a date"),
    (sale(net_weight_tonnes="12,5kg"), "zs_peso_liquido", "is not a number"),
    (sale(net_weight_tonnes="-3.5"), "zs_peso_liquido", "negative"),
    (sale(client_code="12a"), "cod_cliente", "not a whole number"),
    (sale(sku=""), "SKU", "is required"),
    (sale(state="X" * 11), "zs_uf", "longer than 10 characters"),
    (sale(sku_client_turnover="123456789012.5"), "giro_sku_cliente", "more than 10 digits"),
]


def test_each_class_of_bad_row_is_reported_with_its_line_and_nothing_loads(workspace):
    rows = [sale(batch="GOOD1")] + [row for row, _, _ in BAD_ROWS] + [sale(batch="GOOD2")]
    job = run_one(workspace, "sales", csv_file("sales", rows))
    assert job.status == S.FAILED
    assert "nothing was loaded" in job.message
    assert (job.rows_total, job.error_count, job.rows_rejected) == (12, 10, 10)
    report = report_rows(job)
    assert report[0] == ["line", "column", "value", "reason"]
    for line_no, (expected, got) in enumerate(zip(BAD_ROWS, report[1:], strict=True), start=3):
        _, column, reason = expected
        assert got[0] == str(line_no) and got[1] == column and reason in got[3], got
    assert job.errors_preview[0][0] == 3
    assert not SaleRecord.objects.filter(workspace=workspace).exists()
    assert not Client.objects.filter(workspace=workspace).exists()


def test_bad_encoding_is_reported_on_its_line(workspace):
    content = csv_file("sales", [sale(), sale(city="SÃO PAULO")]).read()
    content = content.replace("SÃO".encode(), b"S\xff\xfeO")
    upload = csv_file("sales", [])
    upload.file.seek(0)
    upload.file.write(content)
    upload.file.truncate()
    upload.size = len(content)
    job = run_one(workspace, "sales", upload, encoding="utf-8")
    assert job.status == S.FAILED
    assert report_rows(job)[1][0] == "3" and "not valid utf-8 text" in report_rows(job)[1][3]


def test_skip_invalid_loads_exactly_the_good_rows_and_reports_the_rest(workspace):
    rows = [sale(batch="A"), sale(net_weight_tonnes="-1"), sale(batch="B"), sale()[:5],
            sale(batch="C")]
    job = run_one(workspace, "sales", csv_file("sales", rows), skip_invalid=True)
    assert job.status == S.SUCCEEDED
    assert (job.rows_total, job.rows_imported, job.rows_rejected) == (5, 3, 2)
    assert sorted(SaleRecord.objects.filter(workspace=workspace)
                  .values_list("batch", flat=True)) == ["A", "B", "C"]
    assert [r[0] for r in report_rows(job)[1:]] == ["3", "5"]


def test_the_same_file_twice_is_a_no_op_that_says_so(workspace):
    first = run_one(workspace, "sales", csv_file("sales", [sale(), sale(batch="X")]))
    again = run_one(workspace, "sales", csv_file("sales", [sale(), sale(batch="X")]))
    assert first.status == S.SUCCEEDED
    assert again.status == S.DUPLICATE and again.duplicate_of == first
    assert f"already imported as #{first.pk}" in again.message
    assert SaleRecord.objects.filter(workspace=workspace).count() == 2
    # Same bytes into the other dataset, or into another workspace, are not duplicates.
    other = run_one(WorkspaceFactory(), "sales", csv_file("sales", [sale(), sale(batch="X")]))
    assert other.status == S.SUCCEEDED


def test_replace_swaps_a_previous_imports_rows(workspace):
    old = run_one(workspace, "sales", csv_file("sales", [sale(batch="OLD1"), sale(batch="OLD2")]))
    keep = run_one(workspace, "inventory", csv_file("inventory", [stock()]))
    new = run_one(workspace, "sales", csv_file("sales", [sale(batch="NEW")]), mode="replace")
    assert new.status == S.SUCCEEDED and new.replaces == old
    old.refresh_from_db()
    assert old.status == S.REPLACED
    assert list(SaleRecord.objects.filter(workspace=workspace)
                .values_list("batch", "import_job")) == [("NEW", new.pk)]
    assert InventoryRecord.objects.filter(import_job=keep).count() == 1


def test_a_failed_replace_leaves_the_previous_rows_in_place(workspace):
    old = run_one(workspace, "sales", csv_file("sales", [sale(batch="OLD")]))
    bad = run_one(workspace, "sales", csv_file("sales", [sale(batch="NEW"), sale(sku="")]),
                  mode="replace")
    assert bad.status == S.FAILED
    old.refresh_from_db()
    assert old.status == S.SUCCEEDED
    assert list(SaleRecord.objects.filter(workspace=workspace)
                .values_list("batch", flat=True)) == ["OLD"]


def test_formats_column_order_delimiters_decimals_and_dates_are_understood(workspace):
    header = "SKU;zs_uf;data;cod_cliente;lote;origem;zs_gr_mercad;produto;cod_produto;" \
             "zs_centro;zs_cidade;zs_peso_liquido;giro_sku_cliente"

    def row(sale_date, weight):
        return ["CZN-1", "PR", sale_date, "7", "L1", "PRG", "ZINCADO", "Chapa", "CZN", "1201",
                "SÃO JOSÉ", weight, "1,5"]
    rows = [row("24/06/2025", "26,302"), row("2025-06-24 10:30:00", "1.5"),
            row("2025-06-25T01:30:00Z", "2"), row("2025-06-25T01:30:00-03:00", "3")]
    upload = csv_file("sales", rows, header=header, delimiter=";", encoding="cp1252")
    job = run_one(workspace, "sales", upload)
    assert job.status == S.SUCCEEDED, (job.message, job.errors_preview)
    assert (job.delimiter, job.encoding) == (";", "cp1252")
    got = list(SaleRecord.objects.filter(workspace=workspace).order_by("net_weight_tonnes")
               .values_list("sale_date", "net_weight_tonnes", "city", "sku_client_turnover"))
    assert got == [
        (date(2025, 6, 24), Decimal("1.500"), "SÃO JOSÉ", Decimal("1.5000")),
        # 01:30 UTC is still the 24th in São Paulo (UTC-3).
        (date(2025, 6, 24), Decimal("2.000"), "SÃO JOSÉ", Decimal("1.5000")),
        (date(2025, 6, 25), Decimal("3.000"), "SÃO JOSÉ", Decimal("1.5000")),
        (date(2025, 6, 24), Decimal("26.302"), "SÃO JOSÉ", Decimal("1.5000")),
    ]


def test_a_header_that_does_not_fit_fails_on_line_one(workspace):
    header = "data|cod_cliente|lote|origem|zs_gr_mercad|produto|cod_produto|zs_centro|" \
             "zs_cidade|zs_uf|zs_peso_liquido|peso_bruto|SKU"
    job = run_one(workspace, "sales", csv_file("sales", [sale()], header=header))
    assert job.status == S.FAILED
    reasons = {(r[0], r[1], r[3].split(";")[0]) for r in report_rows(job)[1:]}
    assert ("1", "peso_bruto", "is not a column of the sales file") in reasons
    assert ("1", "giro_sku_cliente", "is missing from the header") in reasons


def test_a_header_only_file_fails_saying_it_has_no_data_rows(workspace):
    job = run_one(workspace, "inventory", csv_file("inventory", []))
    assert job.status == S.FAILED and job.rows_total == 0
    assert "no data rows" in job.message


def test_inventory_rows_load_with_their_types(workspace):
    job = run_one(workspace, "inventory", fixture_file("inventory"))
    row = InventoryRecord.objects.filter(workspace=workspace, batch="L250311265").get()
    assert (row.snapshot_date, row.client.code, row.days_in_stock, row.stock_tonnes,
            row.sku, row.import_job) == (date(2025, 6, 24), 52750, 93, Decimal("26.302"),
                                         "BFF-0.50X1200", job)
