"""The monthly demand forecast: pure arithmetic on hand-computed series, then the DB series.

Expected values are worked out by hand in the comments, never by the code under test.
"""

from datetime import date
from decimal import Decimal as D

import pytest

from reports.data import ReportParameters
from reports.queries import forecast as fc
from tests.factories import ClientFactory, SaleRecordFactory, WorkspaceFactory


def series(*values):
    return [D(str(v)) for v in values]


# --- pure methods ----------------------------------------------------------------------------

def test_add_months_crosses_years():
    assert fc.add_months(date(2024, 11, 13), 3) == date(2025, 2, 1)
    assert fc.add_months(date(2025, 1, 31), -1) == date(2024, 12, 1)
    assert fc.add_months(date(2025, 5, 20), 0) == date(2025, 5, 1)
    assert fc.month_label(date(2025, 2, 1)) == "2025-02"


def test_seasonal_naive_repeats_the_same_month_last_year():
    history = series(*range(1, 15))  # 14 months: 1..14; the last 12 are 3..14
    assert fc.seasonal_naive(history, 3) == series(3, 4, 5)
    assert fc.seasonal_naive(history, 13) == series(*range(3, 15), 3)  # wraps after 12


def test_ses_with_alpha_one_half():
    # level 10 -> 0.5*20 + 0.5*10 = 15 -> 0.5*30 + 0.5*15 = 22.5; flat forecast
    assert fc.ses(series(10, 20, 30), 2) == series(22.5, 22.5)
    assert fc.ses(series(7), 3) == series(7, 7, 7)
    assert fc.ses([], 2) == series(0, 0)


def test_predict_picks_the_method_by_history_length():
    eleven = series(*([4] * 10), 8)  # SES: 4 ... 4, then 0.5*8 + 0.5*4 = 6
    assert fc.predict(eleven, 2) == (fc.SES, series(6, 6))
    twelve = series(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
    assert fc.predict(twelve, 2) == (fc.SEASONAL_NAIVE, series(1, 2))


def test_holdout_error_ses():
    # fit on 10, 20, 30 -> 22.5; actual 40, 50 -> errors 17.5, 27.5
    error = fc.holdout_error(series(10, 20, 30, 40, 50), 2)
    assert error.method == fc.SES
    assert error.forecast == (D("22.5"), D("22.5"))
    assert error.actual == (D(40), D(50))
    assert error.mae == D("22.5")  # (17.5 + 27.5) / 2
    assert error.mape == D("49.375")  # (17.5/40 + 27.5/50) / 2 * 100 = (0.4375 + 0.55) * 50


def test_holdout_error_seasonal_naive_when_the_fit_has_twelve_months():
    # 15 months; holdout 3 leaves 12 to fit on -> forecast = months 1..3 of the fit
    history = series(10, 20, 40, *([5] * 9), 12, 20, 30)
    error = fc.holdout_error(history, 3)
    assert error.method == fc.SEASONAL_NAIVE
    assert error.forecast == (D(10), D(20), D(40))
    assert error.mae == D(4)  # |12-10| + |20-20| + |30-40| = 12; / 3
    # (2/12 + 0 + 10/30) / 3 * 100 = (1/6 + 1/3) / 3 * 100 = 16.666...
    assert round(error.mape, 3) == D("16.667")


def test_holdout_error_skips_zero_actuals_in_mape():
    # fit on 8, 4 -> 6; actual 0, 6 -> errors 6, 0; MAPE only over the month with sales
    error = fc.holdout_error(series(8, 4, 0, 6), 2)
    assert error.mae == D(3)
    assert error.mape == D(0)
    assert fc.holdout_error(series(8, 4, 0, 0), 2).mape is None


def test_no_holdout_error_without_a_month_to_fit_on():
    assert fc.holdout_error(series(1, 2, 3), 3) is None
    assert fc.holdout_error(series(1, 2, 3), 0) is None
    assert fc.holdout_error([], 1) is None


# --- the series the database aggregates ------------------------------------------------------

@pytest.mark.postgres
@pytest.mark.django_db
def test_forecast_skus_fills_months_without_sales_with_zero():
    ws, other = WorkspaceFactory(), WorkspaceFactory()
    client = ClientFactory(workspace=ws)
    for day, sku, weight in [
        (date(2025, 1, 3), "A", "4.000"), (date(2025, 1, 28), "A", "6.000"),  # Jan A = 10
        (date(2025, 3, 9), "A", "20.000"),  # Feb A = 0, Mar A = 20
        (date(2025, 4, 1), "B", "8.000"),  # B starts in April, the last month
    ]:
        SaleRecordFactory(workspace=ws, client=client, sale_date=day, sku=sku,
                          net_weight_tonnes=D(weight))
    SaleRecordFactory(workspace=other, sale_date=date(2025, 6, 1), sku="A")  # not ours
    params = ReportParameters(forecast_months=2, holdout_months=1)
    forecasts, last = fc.forecast_skus(ws.id, params)
    assert last == date(2025, 4, 1)
    a, b = forecasts  # by total weight: A 30, B 8
    assert (a.sku, a.start, a.history) == ("A", date(2025, 1, 1), (D(10), D(0), D(20), D(0)))
    # SES: 10 -> 5 -> 12.5 -> 6.25
    assert (a.method, a.forecast) == (fc.SES, (D("6.25"), D("6.25")))
    assert a.mean_forecast == D("6.25")
    # holdout April (0): fit 10, 0, 20 -> 12.5; MAE 12.5; MAPE undefined
    assert (a.error.mae, a.error.mape) == (D("12.5"), None)
    assert (b.sku, b.history, b.forecast, b.error) == ("B", (D(8),), (D(8), D(8)), None)

    only_b, _ = fc.forecast_skus(ws.id, params, skus=["B"])
    assert [f.sku for f in only_b] == ["B"]
    assert fc.forecast_skus(WorkspaceFactory().id, params) == ([], None)
