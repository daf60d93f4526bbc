"""Nothing in a source file is lost: the time of day in ``data`` reads back as loaded (#10).

Run on both databases: SQLite reads the value in Python (``rules.source_moment``),
PostgreSQL in SQL (``rules.sql_moment``); both must give the same instant.
"""

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from analytics.models import ImportJob, InventoryRecord, SaleRecord
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

from .helpers import csv_file, run_one, sale, stock

pytestmark = pytest.mark.django_db

S = ImportJob.Status
SALES = reverse("analytics-salerecord-list")
INVENTORY = reverse("analytics-inventoryrecord-list")


@pytest.fixture
def workspace():
    return WorkspaceFactory()


def api_rows(workspace, url: str) -> list[dict]:
    user = UserFactory()
    MembershipFactory(workspace=workspace, user=user, role="viewer")
    client = APIClient()
    client.force_login(user)
    response = client.get(url, {"workspace": workspace.pk})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def load_sale(workspace, value: str) -> SaleRecord:
    job = run_one(workspace, "sales", csv_file("sales", [sale(sale_date=value)]))
    assert job.status == S.SUCCEEDED, job.errors_preview
    return SaleRecord.objects.get(workspace=workspace)


def test_a_timestamp_reads_back_exactly_as_loaded_from_the_model_and_the_api(workspace):
    row = load_sale(workspace, "2024-01-01 00:01:05")
    assert row.sale_date == date(2024, 1, 1)  # what the reports group by
    assert row.import_job.source_time_zone == "America/Sao_Paulo"
    assert row.source_timestamp == datetime(2024, 1, 1, 3, 1, 5, tzinfo=UTC)
    assert row.source_local.isoformat() == "2024-01-01T00:01:05-03:00"
    assert row.source_local.replace(tzinfo=None) == datetime(2024, 1, 1, 0, 1, 5)
    [shown] = api_rows(workspace, SALES)
    assert (shown["sale_date"], shown["source_timestamp"]) == (
        "2024-01-01", "2024-01-01T00:01:05-03:00")


def test_fractions_of_a_second_and_late_evening_times_keep_their_day(workspace):
    row = load_sale(workspace, "2024-03-05 23:59:59.123456")
    assert row.sale_date == date(2024, 3, 5)  # not the UTC day (the 6th)
    assert row.source_local.isoformat() == "2024-03-05T23:59:59.123456-03:00"


@pytest.mark.parametrize("value", ["2024-11-13", "13/11/2024"])
def test_a_date_only_value_has_no_source_timestamp_and_its_date_as_given(workspace, value):
    row = load_sale(workspace, value)
    assert (row.sale_date, row.source_timestamp, row.source_local) == (
        date(2024, 11, 13), None, None)
    [shown] = api_rows(workspace, SALES)
    assert (shown["sale_date"], shown["source_timestamp"]) == ("2024-11-13", None)


def test_times_are_read_in_the_workspace_zone_and_shown_in_the_zone_they_were_read_in(
        workspace):
    workspace.settings = {"bi_source_time_zone": "Asia/Tokyo"}
    workspace.save()
    row = load_sale(workspace, "2024-01-01 08:30:00")
    assert row.source_timestamp == datetime(2023, 12, 31, 23, 30, tzinfo=UTC)
    # A later change of the setting does not rewrite what this import read.
    workspace.settings = {"bi_source_time_zone": "America/Sao_Paulo"}
    workspace.save()
    [shown] = api_rows(workspace, SALES)
    assert (shown["sale_date"], shown["source_timestamp"]) == (
        "2024-01-01", "2024-01-01T08:30:00+09:00")


def test_an_offset_keeps_its_instant_and_shows_on_the_source_zone_clock(workspace):
    row = load_sale(workspace, "2024-07-01T02:30:00Z")
    assert row.source_timestamp == datetime(2024, 7, 1, 2, 30, tzinfo=UTC)
    assert row.sale_date == date(2024, 6, 30)  # 23:30 on the 30th in São Paulo
    [shown] = api_rows(workspace, SALES)
    assert shown["source_timestamp"] == "2024-06-30T23:30:00-03:00"


@pytest.mark.parametrize(("value", "instant", "shown"), [
    # The clocks went from 00:00 to 01:00 (-02:00): 00:30 never happened; it takes the
    # offset before the change, which is 01:30 on the new clock.  Its day stays.
    ("2018-11-04 00:30:00", datetime(2018, 11, 4, 3, 30, tzinfo=UTC),
     "2018-11-04T01:30:00-02:00"),
    # The clocks went back from 00:00 to 23:00 (-03:00): 23:30 happened twice; it is
    # the later one, in standard time.
    ("2019-02-16 23:30:00", datetime(2019, 2, 17, 2, 30, tzinfo=UTC),
     "2019-02-16T23:30:00-03:00"),
])
def test_daylight_saving_gaps_and_repeats_are_decided_alike_on_every_database(
        workspace, value, instant, shown):
    row = load_sale(workspace, value)
    assert row.sale_date == date.fromisoformat(value[:10])
    assert row.source_timestamp == instant
    assert api_rows(workspace, SALES)[0]["source_timestamp"] == shown


def test_inventory_rows_keep_their_time_too(workspace):
    job = run_one(workspace, "inventory", csv_file("inventory", [
        stock(snapshot_date="2025-06-24 18:45:00", batch="A"), stock(batch="B")]))
    assert job.status == S.SUCCEEDED, job.errors_preview
    rows = {r.batch: r for r in InventoryRecord.objects.filter(workspace=workspace)}
    assert rows["A"].source_local.isoformat() == "2025-06-24T18:45:00-03:00"
    assert rows["B"].source_timestamp is None
    shown = {r["batch"]: r["source_timestamp"] for r in api_rows(workspace, INVENTORY)}
    assert shown == {"A": "2025-06-24T18:45:00-03:00", "B": None}


def test_rows_with_blanks_round_their_fields_load_like_tidy_ones(workspace):
    # PostgreSQL checks rows without blanks at a field's edge without trimming: rows
    # with them (spaces, a tab, a no-break space) must still load trimmed, and every
    # spelling of a client code must reach the same client.
    job = run_one(workspace, "sales", csv_file("sales", [
        sale(batch="A"),
        sale(batch="B", client_code=" 7328", city="\u00a0SALVADOR "),
        sale(batch="C", client_code="07328", sale_date=" 2024-11-13 10:00:00\t"),
        sale(batch="D", sale_date="2024-11-13T10:00", state="BA\u202f")]))
    assert job.status == S.SUCCEEDED, job.errors_preview
    rows = {r.batch: r for r in SaleRecord.objects.filter(workspace=workspace)}
    assert {r.client.code for r in rows.values()} == {7328}
    assert (rows["B"].city, rows["D"].state) == ("SALVADOR", "BA")
    assert rows["A"].source_timestamp is None and rows["B"].source_timestamp is None
    assert rows["C"].source_local.isoformat() == "2024-11-13T10:00:00-03:00"
    assert rows["D"].source_local.isoformat() == "2024-11-13T10:00:00-03:00"
