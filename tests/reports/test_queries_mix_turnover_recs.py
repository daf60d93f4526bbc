"""Product mix, SKU turnover and inventory recommendations against hand-computed fixtures.

Every expected number below was worked out by hand from the rows the fixtures
create (the arithmetic is in the comments), never by the code under test.
"""

from datetime import date
from decimal import Decimal as D

import pytest

from reports.data import ReportParameters
from reports.kinds import build
from reports.queries.forecast import METHOD_LABELS, SES
from reports.queries.inventory_recommendations import classify
from tests.factories import (
    ClientFactory,
    InventoryRecordFactory,
    SaleRecordFactory,
    WorkspaceFactory,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
SES_LABEL = METHOD_LABELS[SES]
KINDS = ("product_mix", "sku_turnover", "inventory_recommendations")


def rows(report, key):
    return report.table(key).rows


@pytest.fixture
def ws():
    return WorkspaceFactory()


def sale(ws, client, day, weight, **extra):
    return SaleRecordFactory(workspace=ws, client=client, sale_date=day,
                             net_weight_tonnes=D(weight), **extra)


def stock(ws, client, day, sku, weight, group="Laminado a Frio"):
    return InventoryRecordFactory(workspace=ws, client=client, snapshot_date=day, sku=sku,
                                  stock_tonnes=D(weight), product_group=group)


# --- product mix ------------------------------------------------------------------------------

@pytest.fixture
def mix_sales(ws):
    """100 t: ZINCADO 55 (Chapa/CZN 50, Bobina/BZN 5), LAMINADO 45 (Bobina/BFF, client 2)."""
    c1, c2 = ClientFactory(workspace=ws, code=1), ClientFactory(workspace=ws, code=2)
    zin, lam = {"product_group": "ZINCADO"}, {"product_group": "LAMINADO"}
    sale(ws, c1, date(2025, 1, 10), "10.000", product="Chapa", product_code="CZN", **zin)
    sale(ws, c1, date(2025, 1, 20), "5.000", product="Bobina", product_code="BZN", **zin)
    sale(ws, c1, date(2025, 2, 5), "20.000", product="Chapa", product_code="CZN", **zin)
    sale(ws, c2, date(2025, 1, 15), "15.000", product="Bobina", product_code="BFF", **lam)
    sale(ws, c2, date(2025, 3, 10), "30.000", product="Bobina", product_code="BFF",
         state="SC", **lam)
    sale(ws, c1, date(2025, 4, 2), "20.000", product="Chapa", product_code="CZN", **zin)
    SaleRecordFactory(product_group="ZINCADO")  # another workspace: never counted


def test_product_mix_weights_and_shares(ws, mix_sales):
    report = build("product_mix", ws.id, ReportParameters())
    assert rows(report, "by_product_group") == [
        ("ZINCADO", D("55.000"), D("55.0")), ("LAMINADO", D("45.000"), D("45.0"))]
    assert rows(report, "by_product") == [
        ("ZINCADO", "Chapa", D("50.000"), D("50.0")),
        ("LAMINADO", "Bobina", D("45.000"), D("45.0")),
        ("ZINCADO", "Bobina", D("5.000"), D("5.0"))]
    assert rows(report, "by_product_code") == [
        ("CZN", D("50.000"), D("50.0")), ("BFF", D("45.000"), D("45.0")),
        ("BZN", D("5.000"), D("5.0"))]
    assert dict(report.summary)["Sales weight (t)"] == D("100.000")
    assert [c.key for c in report.charts] == ["share_by_product_group", "trend_by_product_group"]


def test_product_mix_monthly_trend_against_the_period_just_before(ws, mix_sales):
    report = build("product_mix", ws.id, ReportParameters())
    n = None
    assert rows(report, "trend_by_product_group") == [
        ("2025-01", "LAMINADO", D("15.000"), D("0.000"), D("15.000"), n),
        ("2025-01", "ZINCADO", D("15.000"), D("0.000"), D("15.000"), n),
        ("2025-02", "ZINCADO", D("20.000"), D("15.000"), D("5.000"), D("33.3")),  # 5/15
        # LAMINADO had nothing in February: January is not "the previous month"
        ("2025-03", "LAMINADO", D("30.000"), D("0.000"), D("30.000"), n),
        ("2025-04", "ZINCADO", D("20.000"), D("0.000"), D("20.000"), n),
    ]
    chart = report.table("trend_chart")
    assert [c.key for c in chart.columns] == ["period", "g_zincado", "g_laminado"]
    assert chart.rows == [  # March has no ZINCADO and is still a row
        ("2025-01", D("15.000"), D("15.000")), ("2025-02", D("20.000"), D("0.000")),
        ("2025-03", D("0.000"), D("30.000")), ("2025-04", D("20.000"), D("0.000"))]
    assert report.charts[1].series == ("g_zincado", "g_laminado")
    assert report.charts[1].y_label == "Weight (t)"


def test_product_mix_quarterly_trend(ws, mix_sales):
    report = build("product_mix", ws.id, ReportParameters(grouping="quarter"))
    assert rows(report, "trend_by_product_group") == [
        ("2025-Q1", "LAMINADO", D("45.000"), D("0.000"), D("45.000"), None),
        ("2025-Q1", "ZINCADO", D("35.000"), D("0.000"), D("35.000"), None),
        # (20 - 35) / 35 = -42.857 %
        ("2025-Q2", "ZINCADO", D("20.000"), D("35.000"), D("-15.000"), D("-42.9")),
    ]
    assert rows(report, "trend_chart") == [
        ("2025-Q1", D("35.000"), D("45.000")), ("2025-Q2", D("20.000"), D("0.000"))]


def test_product_mix_filters(ws, mix_sales):
    # from February: ZINCADO 20 + 20 = 40, LAMINADO 30; 40/70 = 57.14 %, 30/70 = 42.86 %
    since_feb = build("product_mix", ws.id, ReportParameters(date_from=date(2025, 2, 1)))
    assert rows(since_feb, "by_product_group") == [
        ("ZINCADO", D("40.000"), D("57.1")), ("LAMINADO", D("30.000"), D("42.9"))]
    # PR only drops the 30 t LAMINADO sale to SC: 55/70 = 78.57 %, 15/70 = 21.43 %
    pr = build("product_mix", ws.id, ReportParameters(states=("PR",)))
    assert rows(pr, "by_product_group") == [
        ("ZINCADO", D("55.000"), D("78.6")), ("LAMINADO", D("15.000"), D("21.4"))]
    client_2 = build("product_mix", ws.id, ReportParameters(clients=(2,)))
    assert rows(client_2, "by_product_group") == [("LAMINADO", D("45.000"), D("100.0"))]
    zin = build("product_mix", ws.id, ReportParameters(product_groups=("ZINCADO",)))
    assert rows(zin, "by_product_code") == [
        ("CZN", D("50.000"), D("90.9")), ("BZN", D("5.000"), D("9.1"))]  # 50/55, 5/55


# --- SKU turnover -----------------------------------------------------------------------------

@pytest.fixture
def turnover_data(ws):
    """A: 10 (Jan) + 20 (Feb) client 1, 6 (Feb) client 2; B: 9 (Mar) client 2.

    Stock: 31 Jan A 4 + 6 = 10, B 5; 31 Mar A 14.
    """
    c1 = ClientFactory(workspace=ws, code=1, name="Um")
    c2 = ClientFactory(workspace=ws, code=2, name="Dois")
    sale(ws, c1, date(2025, 1, 10), "10.000", sku="A", sku_client_turnover=D("2.0000"))
    sale(ws, c1, date(2025, 2, 10), "20.000", sku="A", sku_client_turnover=D("4.0000"))
    sale(ws, c2, date(2025, 2, 15), "6.000", sku="A", sku_client_turnover=D("1.5000"))
    sale(ws, c2, date(2025, 3, 5), "9.000", sku="B", sku_client_turnover=D("3.0000"))
    for day, sku, weight in [(date(2025, 1, 31), "A", "4.000"), (date(2025, 1, 31), "A", "6.000"),
                             (date(2025, 1, 31), "B", "5.000"), (date(2025, 3, 31), "A", "14.000")]:
        stock(ws, c1, day, sku, weight)


def test_sku_turnover(ws, turnover_data):
    report = build("sku_turnover", ws.id, ReportParameters(holdout_months=1))
    assert rows(report, "turnover_by_sku_client") == [
        ("A", 1, "Um", D("30.000"), 2, D("3.0000")),  # giro (2 + 4) / 2
        ("B", 2, "Dois", D("9.000"), 1, D("3.0000")),
        ("A", 2, "Dois", D("6.000"), 1, D("1.5000")),
    ]
    # two snapshots: A (10 + 14) / 2 = 12 -> 36 / 12 = 3; B (5 + 0) / 2 = 2.5 -> 9 / 2.5 = 3.6
    assert rows(report, "turnover_by_sku") == [
        ("A", D("36.000"), D("12.000"), D("3.00")), ("B", D("9.000"), D("2.500"), D("3.60"))]
    # series end in March: A = 10, 26, 0 -> SES 10, 18, 9; B = 9 (starts in March)
    assert rows(report, "forecast") == [
        ("A", "2025-04", D("9.000"), SES_LABEL), ("A", "2025-05", D("9.000"), SES_LABEL),
        ("A", "2025-06", D("9.000"), SES_LABEL), ("B", "2025-04", D("9.000"), SES_LABEL),
        ("B", "2025-05", D("9.000"), SES_LABEL), ("B", "2025-06", D("9.000"), SES_LABEL)]
    # A: March held back (0), fit 10, 26 -> 18: MAE 18, MAPE undefined; B has nothing to fit
    assert rows(report, "forecast_error") == [
        ("A", SES_LABEL, 1, D("0.000"), D("18.000"), D("18.000"), None)]
    chart = report.table("forecast_chart")
    assert [c.key for c in chart.columns] == ["month", "type", "sku_a_1", "sku_b_2"]
    assert chart.rows == [
        ("2025-01", "actual", D("10.000"), D("0.000")),
        ("2025-02", "actual", D("26.000"), D("0.000")),
        ("2025-03", "actual", D("0.000"), D("9.000")),
        ("2025-04", "forecast", D("9.000"), D("9.000")),
        ("2025-05", "forecast", D("9.000"), D("9.000")),
        ("2025-06", "forecast", D("9.000"), D("9.000"))]
    assert report.charts[0].series == ("sku_a_1", "sku_b_2")
    assert dict(report.summary)["Sales weight (t)"] == D("45.000")


def test_sku_turnover_filters_and_stock_fallback(ws, turnover_data):
    to_feb = build("sku_turnover", ws.id, ReportParameters(date_to=date(2025, 2, 28)))
    # one snapshot (31 Jan): A 10 -> 36 / 10
    assert rows(to_feb, "turnover_by_sku") == [("A", D("36.000"), D("10.000"), D("3.60"))]
    # no snapshot in February: the latest before it (31 Jan, A 10) -> 26 / 10
    feb = build("sku_turnover", ws.id, ReportParameters(date_from=date(2025, 2, 1),
                                                        date_to=date(2025, 2, 28)))
    assert rows(feb, "turnover_by_sku") == [("A", D("26.000"), D("10.000"), D("2.60"))]
    sku_b = build("sku_turnover", ws.id, ReportParameters(skus=("B",)))
    assert [r[0] for r in rows(sku_b, "turnover_by_sku_client")] == ["B"]
    client_2 = build("sku_turnover", ws.id, ReportParameters(clients=(2,)))
    # client 2 has no stock lines: sales but blank turnover
    assert rows(client_2, "turnover_by_sku") == [("B", D("9.000"), None, None),
                                                 ("A", D("6.000"), None, None)]


# --- inventory recommendations ----------------------------------------------------------------

@pytest.fixture
def recs_data(ws):
    """Snapshot 30 Jun; every SKU's last sale month is June (the end of the series)."""
    client = ClientFactory(workspace=ws, code=7)
    for sku, weight in [("OVER", "40.000"), ("OVER", "30.000"), ("REORDER", "5.000"),
                        ("OKSKU", "30.000"), ("IDLE", "12.000"), ("EDGE", "60.000"),
                        ("ONE", "8.000")]:
        stock(ws, client, date(2025, 6, 30), sku, weight)
    stock(ws, client, date(2025, 5, 31), "OVER", "1.000")  # older snapshot
    for day, sku, weight in [(date(2025, 6, 3), "OVER", "10.000"),
                             (date(2025, 5, 3), "REORDER", "20.000"),
                             (date(2025, 6, 4), "REORDER", "10.000"),
                             (date(2025, 6, 5), "OKSKU", "10.000"),
                             (date(2025, 6, 6), "EDGE", "10.000"),
                             (date(2025, 6, 7), "ONE", "8.000"),
                             (date(2025, 6, 8), "GONE", "50.000")]:  # not in stock
        sale(ws, client, day, weight, sku=sku)


def test_inventory_recommendations(ws, recs_data):
    report = build("inventory_recommendations", ws.id, ReportParameters())
    g = "Laminado a Frio"
    # OVER 70 / 10 = 7 > 6; IDLE has no sales: infinite cover, all 12 t excess
    assert rows(report, "overstock") == [
        ("IDLE", g, D("12.000"), D("0.000"), None, D("12.000"), "no demand"),
        ("OVER", g, D("70.000"), D("10.000"), D("7.00"), D("10.000"), "")]  # 70 - 6 x 10
    # REORDER: SES 20, 10 -> 15 t/month; 5 / 15 = 0.33 < 1; shortfall 1 x 15 - 5
    assert rows(report, "reorder") == [
        ("REORDER", g, D("5.000"), D("15.000"), D("0.33"), D("10.000"))]
    statuses = {r[0]: (r[4], r[5]) for r in rows(report, "cover_by_sku")}
    assert statuses == {"OVER": (D("7.00"), "overstock"), "EDGE": (D("6.00"), "ok"),
                        "OKSKU": (D("3.00"), "ok"), "IDLE": (None, "overstock"),
                        "ONE": (D("1.00"), "ok"), "REORDER": (D("0.33"), "reorder")}
    summary = dict(report.summary)
    assert summary["Snapshot date"] == date(2025, 6, 30)
    assert (summary["SKUs in stock"], summary["Overstock SKUs"], summary["Reorder SKUs"],
            summary["OK SKUs"]) == (6, 2, 1, 3)
    assert summary["Stock (t)"] == D("185.000")  # 70 + 5 + 30 + 12 + 60 + 8
    assert summary["Excess stock (t)"] == D("22.000")  # 12 + 10
    top = rows(report, "stock_vs_demand")
    assert top[:2] == [("OVER", D("70.000"), D("10.000")), ("EDGE", D("60.000"), D("10.000"))]


def test_inventory_recommendations_thresholds_and_snapshot(ws, recs_data):
    strict = build("inventory_recommendations", ws.id,
                   ReportParameters(overstock_months=D("2.5"), reorder_months=D("2")))
    # cover 3 (OKSKU), 6 (EDGE), 7 (OVER) > 2.5; 1 (ONE) and 0.33 (REORDER) < 2
    assert sorted(r[0] for r in rows(strict, "overstock")) == ["EDGE", "IDLE", "OKSKU", "OVER"]
    assert [r[0] for r in rows(strict, "reorder")] == ["REORDER", "ONE"]  # shortfall 25, 8
    # to 31 May: the older snapshot (OVER 1 t), no OVER sales yet -> no demand
    may = build("inventory_recommendations", ws.id, ReportParameters(date_to=date(2025, 5, 31)))
    assert rows(may, "cover_by_sku") == [
        ("OVER", "Laminado a Frio", D("1.000"), D("0.000"), None, "overstock", "no demand",
         "no sales")]


def test_classify_edges():
    params = ReportParameters()
    assert classify(D("0.000"), D("0.000"), params) == ("ok", None)
    assert classify(D("0.000"), D("2.000"), params) == ("reorder", D("0.00"))
    assert classify(D("6.004"), D("1.000"), params) == ("ok", D("6.00"))  # compared rounded


# --- empty data -------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_empty_workspace_gives_empty_tables(kind, ws):
    SaleRecordFactory()  # another workspace's data
    InventoryRecordFactory()
    report = build(kind, ws.id, ReportParameters())
    assert report.is_empty
    assert report.charts == []
    assert all(t.key.replace("_", "").isalnum() for t in report.tables)


@pytest.mark.parametrize("kind", KINDS)
def test_filters_that_match_nothing_give_empty_tables(kind, ws, mix_sales):
    report = build(kind, ws.id, ReportParameters(skus=("NOPE",)))
    assert report.is_empty
