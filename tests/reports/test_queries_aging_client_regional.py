"""Inventory aging, client sales and regional sales against small hand-computed fixtures.

Every expected number below was worked out by hand from the rows the fixtures
create (the arithmetic is in the comments), never by the code under test.
"""

from datetime import date
from decimal import Decimal as D

import pytest

from reports.data import ReportParameters
from reports.kinds import build
from tests.factories import (
    ClientFactory,
    InventoryRecordFactory,
    SaleRecordFactory,
    WorkspaceFactory,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

JAN_APR = {"date_from": date(2025, 1, 1), "date_to": date(2025, 4, 30)}


def rows(report, key):
    return report.table(key).rows


def column_keys(report, key):
    return [c.key for c in report.table(key).columns]


# --- fixtures -------------------------------------------------------------------------------

@pytest.fixture
def ws():
    return WorkspaceFactory()


@pytest.fixture
def other_ws():
    return WorkspaceFactory()


@pytest.fixture
def clients(ws):
    return {
        "A": ClientFactory(workspace=ws, code=101, name="Alfa"),
        "B": ClientFactory(workspace=ws, code=202, name="Beta"),
        "C": ClientFactory(workspace=ws, code=303, name=""),
    }


@pytest.fixture
def stock(ws, other_ws, clients):
    """Snapshot 2025-06-24 (51.000 t), an older one (100.000 t) and another workspace's."""
    a, b = clients["A"], clients["B"]
    for client, centre, material, group, days, tonnes in [
        (a, "1101", "Produto Acabado", "Laminado a Frio", 10, "10.000"),  # 0-30
        (a, "1101", "Produto Acabado", "Laminado a Frio", 30, "5.500"),  # 0-30 (edge)
        (a, "1101", "Materia Prima", "Zincado", 31, "4.250"),  # 31-60 (edge)
        (b, "1201", "Produto Acabado", "Zincado", 90, "20.000"),  # 61-90 (edge)
        (b, "1201", "Materia Prima", "Zincado", 91, "8.125"),  # 91-180 (edge)
        (b, "1201", "Produto Acabado", "Laminado a Frio", 181, "2.125"),  # >180 (edge)
        (b, "1101", "Produto Acabado", "Laminado a Frio", 400, "1.000"),  # >180
    ]:
        InventoryRecordFactory(workspace=ws, client=client, snapshot_date=date(2025, 6, 24),
                               centre=centre, material_type=material, product_group=group,
                               days_in_stock=days, stock_tonnes=D(tonnes))
    InventoryRecordFactory(workspace=ws, client=b, snapshot_date=date(2025, 5, 31),
                           centre="1101", days_in_stock=5, stock_tonnes=D("100.000"))
    # Another workspace: more stock, and a later snapshot that must not be "the latest" here.
    for day in (date(2025, 6, 24), date(2025, 7, 1)):
        InventoryRecordFactory(workspace=other_ws, snapshot_date=day, days_in_stock=200,
                               stock_tonnes=D("999.000"))


@pytest.fixture
def sales(ws, other_ws, clients):
    """Jan-Apr 2025: A 33.000 t, B 18.000 t, C 2.500 t (53.500 t); plus rows outside."""
    a, b, c = clients["A"], clients["B"], clients["C"]
    for client, day, state, city, tonnes in [
        (a, date(2025, 1, 10), "PR", "CURITIBA", "10.000"),
        (a, date(2025, 1, 20), "PR", "LONDRINA", "5.000"),
        (a, date(2025, 2, 5), "SP", "SAO PAULO", "12.000"),
        (a, date(2025, 4, 15), "PR", "CURITIBA", "6.000"),  # no March sale for A
        (b, date(2025, 1, 31), "SP", "CAMPINAS", "8.000"),
        (b, date(2025, 2, 28), "SP", "SAO PAULO", "4.000"),
        (b, date(2025, 3, 1), "SC", "JOINVILLE", "6.000"),
        (c, date(2025, 3, 15), "PR", "CURITIBA", "2.500"),
        # outside Jan-Apr 2025
        (a, date(2024, 12, 20), "PR", "CURITIBA", "7.000"),
        (b, date(2025, 5, 2), "RS", "PORTO ALEGRE", "3.000"),
    ]:
        SaleRecordFactory(workspace=ws, client=client, sale_date=day, state=state, city=city,
                          net_weight_tonnes=D(tonnes))
    # Another workspace, even with a client of the same code: never counted.
    SaleRecordFactory(workspace=other_ws, client=ClientFactory(workspace=other_ws, code=101),
                      sale_date=date(2025, 1, 15), state="PR", city="CURITIBA",
                      net_weight_tonnes=D("500.000"))


def report(kind, ws, **params):
    return build(kind, ws.id, ReportParameters(**params))


# --- inventory aging ------------------------------------------------------------------------

BUCKET_KEYS = ["days_0_30", "days_31_60", "days_61_90", "days_91_180", "days_over_180", "total"]


def test_aging_buckets_per_centre_material_group_and_totals(ws, stock):
    data = report("inventory_aging", ws)

    assert column_keys(data, "aging_by_centre") == ["centre", *BUCKET_KEYS]
    # 1201: 20.000 (90 d) + 8.125 (91 d) + 2.125 (181 d) = 30.250, heavier than
    # 1101: 10.000 + 5.500 (<= 30 d), 4.250 (31 d), 1.000 (400 d) = 20.750.
    assert rows(data, "aging_by_centre") == [
        ("1201", D("0.000"), D("0.000"), D("20.000"), D("8.125"), D("2.125"), D("30.250")),
        ("1101", D("15.500"), D("4.250"), D("0.000"), D("0.000"), D("1.000"), D("20.750")),
    ]
    assert rows(data, "aging_by_material_type") == [
        ("Produto Acabado", D("15.500"), D("0.000"), D("20.000"), D("0.000"), D("3.125"),
         D("38.625")),
        ("Materia Prima", D("0.000"), D("4.250"), D("0.000"), D("8.125"), D("0.000"),
         D("12.375")),
    ]
    assert rows(data, "aging_by_product_group") == [
        ("Zincado", D("0.000"), D("4.250"), D("20.000"), D("8.125"), D("0.000"), D("32.375")),
        ("Laminado a Frio", D("15.500"), D("0.000"), D("0.000"), D("0.000"), D("3.125"),
         D("18.625")),
    ]
    # shares of 51.000: 15.5 -> 30.39, 4.25 -> 8.33, 20 -> 39.22, 8.125 -> 15.93, 3.125 -> 6.13
    assert rows(data, "aging_totals") == [
        ("0\u201330 days", D("15.500"), D("30.4")),
        ("31\u201360 days", D("4.250"), D("8.3")),
        ("61\u201390 days", D("20.000"), D("39.2")),
        ("91\u2013180 days", D("8.125"), D("15.9")),
        (">180 days", D("3.125"), D("6.1")),
    ]
    # over 90 days: (8.125 + 3.125) / 51.000 = 22.06 %
    assert data.summary == [
        ("Total stock (t)", D("51.000")),
        ("Share of stock over 90 days (%)", D("22.1")),
        ("Snapshot date", date(2025, 6, 24)),
    ]
    charts = {c.key: c for c in data.charts}
    assert charts["aging_by_centre_chart"].kind == "stacked"
    assert charts["aging_by_centre_chart"].series == tuple(BUCKET_KEYS[:-1])
    assert charts["aging_totals_chart"].table == "aging_totals"
    assert all(c.y_label == "Weight (t)" and c.title for c in data.charts)


def test_aging_uses_latest_snapshot_on_or_before_date_to(ws, stock):
    data = report("inventory_aging", ws, date_to=date(2025, 6, 1))

    assert rows(data, "aging_by_centre") == [
        ("1101", D("100.000"), D("0.000"), D("0.000"), D("0.000"), D("0.000"), D("100.000")),
    ]
    assert data.summary[0] == ("Total stock (t)", D("100.000"))
    assert data.summary[2] == ("Snapshot date", date(2025, 5, 31))


def test_aging_filters_by_client_and_product_group(ws, stock):
    # Client 101 (A): 10.000 + 5.500 + 4.250 on 2025-06-24.
    by_client = report("inventory_aging", ws, clients=(101,))
    assert rows(by_client, "aging_totals")[:2] == [
        ("0\u201330 days", D("15.500"), D("78.5")),  # 15.5 / 19.75 = 78.48 %
        ("31\u201360 days", D("4.250"), D("21.5")),
    ]
    assert by_client.summary[0] == ("Total stock (t)", D("19.750"))

    zincado = report("inventory_aging", ws, product_groups=("Zincado",))
    assert [r[0] for r in rows(zincado, "aging_by_product_group")] == ["Zincado"]
    assert zincado.summary[0] == ("Total stock (t)", D("32.375"))


def test_aging_empty(ws, other_ws, stock):
    for data in (report("inventory_aging", WorkspaceFactory()),
                 report("inventory_aging", ws, date_to=date(2025, 1, 1))):
        assert data.is_empty
        assert data.summary == [("Total stock (t)", D("0.000")),
                                ("Share of stock over 90 days (%)", None),
                                ("Snapshot date", None)]


# --- client sales ---------------------------------------------------------------------------

def test_client_sales_per_month_growth_ranking(ws, sales):
    data = report("client_sales", ws, top_n=2, **JAN_APR)

    # shares of 53.500: 33 -> 61.68 %, 18 -> 33.64 %, 2.5 -> 4.67 %
    assert rows(data, "client_totals") == [
        (1, "101 \u2013 Alfa", D("33.000"), D("61.7")),
        (2, "202 \u2013 Beta", D("18.000"), D("33.6")),
        (3, "303", D("2.500"), D("4.7")),
    ]
    assert [r[1] for r in rows(data, "top_clients")] == ["101 \u2013 Alfa", "202 \u2013 Beta"]
    assert [r[1] for r in rows(data, "bottom_clients")] == ["303", "202 \u2013 Beta"]
    assert column_keys(data, "client_periods") == [
        "client", "period", "weight_t", "previous_t", "growth_pct"]
    assert rows(data, "client_periods") == [
        ("101 \u2013 Alfa", "2025-01", D("15.000"), None, None),  # December is before the range
        ("101 \u2013 Alfa", "2025-02", D("12.000"), D("15.000"), D("-20.0")),  # (12-15)/15
        ("101 \u2013 Alfa", "2025-04", D("6.000"), None, None),  # no March sales: no growth
        ("202 \u2013 Beta", "2025-01", D("8.000"), None, None),
        ("202 \u2013 Beta", "2025-02", D("4.000"), D("8.000"), D("-50.0")),
        ("202 \u2013 Beta", "2025-03", D("6.000"), D("4.000"), D("50.0")),
        ("303", "2025-03", D("2.500"), None, None),
    ]
    # Jan 15+8 = 23, Feb 12+4 = 16, Mar 6+2.5 = 8.5, Apr 6
    assert rows(data, "period_totals") == [
        ("2025-01", D("23.000"), None),
        ("2025-02", D("16.000"), D("-30.4")),  # -7/23 = -30.43 %
        ("2025-03", D("8.500"), D("-46.9")),  # -7.5/16 = -46.875 %
        ("2025-04", D("6.000"), D("-29.4")),  # -2.5/8.5 = -29.41 %
    ]
    assert data.summary == [("Total weight (t)", D("53.500")), ("Clients with sales", 3),
                            ("Top 2 share (%)", D("95.3"))]  # 51 / 53.5 = 95.33 %
    charts = {c.key: c for c in data.charts}
    assert set(charts) == {"top_clients_chart", "period_totals_chart"}
    assert charts["top_clients_chart"].table == "top_clients"
    assert all(c.y_label == "Weight (t)" and c.x_label for c in data.charts)


def test_client_sales_by_quarter(ws, sales):
    data = report("client_sales", ws, grouping="quarter", **JAN_APR)

    assert rows(data, "client_periods") == [
        ("101 \u2013 Alfa", "2025-Q1", D("27.000"), None, None),
        ("101 \u2013 Alfa", "2025-Q2", D("6.000"), D("27.000"), D("-77.8")),  # -21/27
        ("202 \u2013 Beta", "2025-Q1", D("18.000"), None, None),
        ("303", "2025-Q1", D("2.500"), None, None),
    ]
    assert rows(data, "period_totals") == [
        ("2025-Q1", D("47.500"), None),
        ("2025-Q2", D("6.000"), D("-87.4")),  # -41.5/47.5 = -87.37 %
    ]


def test_client_sales_without_date_range_counts_everything_of_the_workspace(ws, sales):
    data = report("client_sales", ws)

    # A: 33 + 7 (Dec) = 40; B: 18 + 3 (May) = 21; C 2.5; total 63.5 (never the 500 t elsewhere)
    assert [r[1:3] for r in rows(data, "client_totals")] == [
        ("101 \u2013 Alfa", D("40.000")), ("202 \u2013 Beta", D("21.000")), ("303", D("2.500"))]
    assert rows(data, "client_periods")[:2] == [
        ("101 \u2013 Alfa", "2024-12", D("7.000"), None, None),
        ("101 \u2013 Alfa", "2025-01", D("15.000"), D("7.000"), D("114.3")),  # 8/7 = 114.29 %
    ]
    assert data.summary[0] == ("Total weight (t)", D("63.500"))


def test_client_sales_filters_clients_and_states(ws, sales):
    only_b = report("client_sales", ws, clients=(202,), **JAN_APR)
    assert rows(only_b, "client_totals") == [(1, "202 \u2013 Beta", D("18.000"), D("100.0"))]

    # SP: A 12 (Feb); B 8 (Jan) + 4 (Feb) = 12: a tie, ordered by client code.
    sp = report("client_sales", ws, states=("SP",), **JAN_APR)
    assert rows(sp, "client_totals") == [
        (1, "101 \u2013 Alfa", D("12.000"), D("50.0")),
        (2, "202 \u2013 Beta", D("12.000"), D("50.0")),
    ]


def test_client_sales_empty(ws, sales):
    for data in (report("client_sales", WorkspaceFactory()),
                 report("client_sales", ws, date_from=date(2026, 1, 1))):
        assert data.is_empty
        assert data.summary[0] == ("Total weight (t)", D("0.000"))


# --- regional sales -------------------------------------------------------------------------

def test_regional_sales_by_state_city_and_month(ws, sales):
    data = report("regional_sales", ws, top_n=2, **JAN_APR)

    # SP 12+8+4 = 24, PR 10+5+6+2.5 = 23.5, SC 6; of 53.5: 44.86 %, 43.93 %, 11.21 %
    assert rows(data, "sales_by_state") == [
        ("SP", D("24.000"), D("44.9")),
        ("PR", D("23.500"), D("43.9")),
        ("SC", D("6.000"), D("11.2")),
    ]
    assert rows(data, "sales_by_city") == [
        ("PR", "CURITIBA", D("18.500"), D("34.6")),  # 10+6+2.5; 34.58 %
        ("SP", "SAO PAULO", D("16.000"), D("29.9")),  # 12+4; 29.91 %
        ("SP", "CAMPINAS", D("8.000"), D("15.0")),  # 14.95 %
        ("SC", "JOINVILLE", D("6.000"), D("11.2")),
        ("PR", "LONDRINA", D("5.000"), D("9.3")),  # 9.35 %
    ]
    assert [r[0] for r in rows(data, "top_cities")] == ["CURITIBA (PR)", "SAO PAULO (SP)"]
    assert rows(data, "state_months") == [
        ("PR", "2025-01", D("15.000"), None, None),
        ("PR", "2025-03", D("2.500"), None, None),  # no February in PR
        ("PR", "2025-04", D("6.000"), D("2.500"), D("140.0")),  # 3.5/2.5
        ("SC", "2025-03", D("6.000"), None, None),
        ("SP", "2025-01", D("8.000"), None, None),
        ("SP", "2025-02", D("16.000"), D("8.000"), D("100.0")),
    ]
    assert column_keys(data, "state_month_pivot") == ["month", "st_sp", "st_pr", "st_sc", "total"]
    assert rows(data, "state_month_pivot") == [
        ("2025-01", D("8.000"), D("15.000"), D("0.000"), D("23.000")),
        ("2025-02", D("16.000"), D("0.000"), D("0.000"), D("16.000")),
        ("2025-03", D("0.000"), D("2.500"), D("6.000"), D("8.500")),
        ("2025-04", D("0.000"), D("6.000"), D("0.000"), D("6.000")),
    ]
    assert data.summary == [("Total weight (t)", D("53.500")), ("States", 3), ("Cities", 5),
                            ("Leading state", "SP"), ("Leading state share (%)", D("44.9"))]
    charts = {c.key: c for c in data.charts}
    assert charts["state_monthly_chart"].series == ("st_sp", "st_pr")  # the top 2 states
    assert charts["sales_by_state_chart"].x == "state"
    assert all(c.y_label == "Weight (t)" and c.title for c in data.charts)


def test_regional_sales_filters_states_and_dates(ws, sales):
    # PR 23.5, SC 6: of 29.5 -> 79.66 %, 20.34 %
    data = report("regional_sales", ws, states=("PR", "SC"), **JAN_APR)
    assert rows(data, "sales_by_state") == [("PR", D("23.500"), D("79.7")),
                                            ("SC", D("6.000"), D("20.3"))]

    # From May on: B's 3.000 t in Porto Alegre only.
    may = report("regional_sales", ws, date_from=date(2025, 5, 1))
    assert rows(may, "sales_by_city") == [("RS", "PORTO ALEGRE", D("3.000"), D("100.0"))]


def test_regional_sales_empty(ws, sales):
    for data in (report("regional_sales", WorkspaceFactory()),
                 report("regional_sales", ws, states=("AM",))):
        assert data.is_empty
        assert data.summary[0] == ("Total weight (t)", D("0.000"))
        assert column_keys(data, "state_month_pivot") == ["month", "total"]
