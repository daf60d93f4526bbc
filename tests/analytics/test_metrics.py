"""Metric numbers: each kind and filter equals the same aggregate written in SQL by hand
(PostgreSQL), buckets follow the time zone, empty buckets are 0, breakdowns keep the
values with the most events, and bad definitions are refused with a clear message."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from analytics.models import Metric
from analytics.queries import metrics
from analytics.queries.properties import percentile_of
from analytics.services.dashboards import metric_validate
from tests.factories import WorkspaceFactory
from tests.factories.analytics_dashboards import MetricFactory, make_events

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 8, tzinfo=UTC)


def at(day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def workspace():
    workspace = WorkspaceFactory()
    people = ["ana", "bea", "caio", "dora", ""]
    plans = ["pro", "free", "pro", "team", None]
    rows = []
    for n in range(60):
        properties = {"amount": (n * 7) % 23 + 0.5, "country": ["PT", "BR", "ES", "FR"][n % 4],
                      "path": f"/page/{n % 6}", "step": n % 5}
        if plans[n % 5] is not None:
            properties["plan"] = plans[n % 5]
        if n % 11 == 0:
            properties["amount"] = "n/a"  # not a number: ignored by sums and ranges
        rows.append({"timestamp": at(1 + n % 6, n % 24, n % 60), "distinct_id": people[n % 5],
                     "session_id": f"s{n % 9}", "properties": properties})
    make_events(workspace, *rows)
    make_events(workspace, {"name": "signup", "timestamp": at(2), "distinct_id": "ana"},
                {"timestamp": datetime(2026, 2, 28, 23, 59, tzinfo=UTC)},  # before the window
                {"timestamp": END})  # the end is excluded
    make_events(WorkspaceFactory(), *rows[:10])  # another workspace: never counted
    return workspace


AGGREGATES = {
    "count": "count(*)",
    "unique": "count(DISTINCT NULLIF(distinct_id, ''))",
    "unique_property": "count(DISTINCT properties ->> 'country')",
    "sum": "sum(CASE WHEN jsonb_typeof(properties -> 'amount') = 'number' "
           "THEN (properties ->> 'amount')::float8 END)",
    "average": "avg(CASE WHEN jsonb_typeof(properties -> 'amount') = 'number' "
               "THEN (properties ->> 'amount')::float8 END)",
    "percentile": "percentile_cont(0.95) WITHIN GROUP (ORDER BY CASE WHEN "
                  "jsonb_typeof(properties -> 'amount') = 'number' "
                  "THEN (properties ->> 'amount')::float8 END)",
}
KINDS = {"count": {"kind": "count"}, "unique": {"kind": "unique"},
         "unique_property": {"kind": "unique", "property": "country"},
         "sum": {"kind": "sum", "property": "amount"},
         "average": {"kind": "average", "property": "amount"},
         "percentile": {"kind": "percentile", "property": "amount", "percentile": 95}}


def sql_by_day(workspace, aggregate: str, where: str = "TRUE", params=(), tz="UTC",
               interval="day"):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT date_trunc(%s, timestamp AT TIME ZONE %s) AS bucket, {aggregate} "
            f"FROM analytics_event WHERE workspace_id = %s AND name = 'pageview' "
            f"AND timestamp >= %s AND timestamp < %s AND ({where}) GROUP BY 1 ORDER BY 1",
            [interval, tz, workspace.pk, START, END, *params])
        return {bucket: float(value or 0) for bucket, value in cursor.fetchall()}


def points(result, n=0) -> dict:
    return {datetime.fromisoformat(p["bucket"]).replace(tzinfo=None): p["value"]
            for p in result["series"][n]["points"]}


@pytest.mark.postgres
@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_equals_the_sql_aggregate(workspace, kind):
    metric = MetricFactory(workspace=workspace, **KINDS[kind])
    result = metrics.metric_series(metric, start=START, end=END, interval="day")
    expected = sql_by_day(workspace, AGGREGATES[kind])
    got = points(result)
    assert len(got) == 7 and got[datetime(2026, 3, 7)] == 0  # no pageview on the 7th
    assert {k: v for k, v in got.items() if k in expected} == pytest.approx(expected)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {AGGREGATES[kind]} FROM analytics_event WHERE workspace_id "
                       "= %s AND name = 'pageview' AND timestamp >= %s AND timestamp < %s",
                       [workspace.pk, START, END])
        assert result["total"] == pytest.approx(float(cursor.fetchone()[0]))
    assert metrics.metric_value(metric, START, END) == pytest.approx(result["total"])


FILTERS = {
    "eq": ({"property": "plan", "op": "eq", "value": "pro"}, "properties -> 'plan' = %s",
           ['"pro"']),
    "neq": ({"property": "plan", "op": "neq", "value": "pro"},
            "properties -> 'plan' IS NULL OR NOT properties -> 'plan' = %s", ['"pro"']),
    "eq_number": ({"property": "step", "op": "eq", "value": 3}, "properties -> 'step' = %s",
                  ["3"]),
    "gt": ({"property": "amount", "op": "gt", "value": 10},
           "jsonb_typeof(properties -> 'amount') = 'number' AND "
           "(properties ->> 'amount')::float8 > 10", []),
    "gte": ({"property": "amount", "op": "gte", "value": 10.5},
            "jsonb_typeof(properties -> 'amount') = 'number' AND "
            "(properties ->> 'amount')::float8 >= 10.5", []),
    "lt": ({"property": "step", "op": "lt", "value": 2},
           "jsonb_typeof(properties -> 'step') = 'number' AND "
           "(properties ->> 'step')::float8 < 2", []),
    "lte": ({"property": "step", "op": "lte", "value": 2},
            "jsonb_typeof(properties -> 'step') = 'number' AND "
            "(properties ->> 'step')::float8 <= 2", []),
    "contains": ({"property": "path", "op": "contains", "value": "PAGE/3"},
                 "properties ->> 'path' ILIKE '%%page/3%%'", []),
    "exists": ({"property": "plan", "op": "exists", "value": True},
               "jsonb_exists(properties, 'plan')", []),
    "not_exists": ({"property": "plan", "op": "exists", "value": False},
                   "NOT jsonb_exists(properties, 'plan')", []),
}


@pytest.mark.postgres
@pytest.mark.parametrize("op", list(FILTERS))
def test_each_filter_op_equals_the_sql_condition(workspace, op):
    condition, where, params = FILTERS[op]
    metric = MetricFactory(workspace=workspace, kind="count", filters=[condition])
    result = metrics.metric_series(metric, start=START, end=END, interval="day")
    expected = sql_by_day(workspace, "count(*)", where, params)
    assert sum(expected.values()) > 0
    assert {k: v for k, v in points(result).items() if v} == expected
    assert result["total"] == sum(expected.values())


@pytest.mark.postgres
def test_filters_combine_and_the_python_percentile_matches_postgresql(workspace,
                                                                      monkeypatch):
    metric = MetricFactory(workspace=workspace, kind="percentile", property="amount",
                           percentile=50, filters=[
                               {"property": "country", "op": "neq", "value": "PT"},
                               {"property": "amount", "op": "lt", "value": 20}])
    in_sql = metrics.metric_series(metric, start=START, end=END)
    monkeypatch.setattr(metrics, "_in_database_percentile", lambda using="default": False)
    in_python = metrics.metric_series(metric, start=START, end=END)
    assert points(in_python) == pytest.approx(points(in_sql))
    assert in_python["total"] == pytest.approx(in_sql["total"])
    assert in_sql["total"] > 0


def test_percentile_interpolates_like_percentile_cont():
    assert percentile_of([1, 2, 3, 4], 0.5) == 2.5
    assert percentile_of([10, 0, 5], 0.95) == pytest.approx(9.5)
    assert percentile_of([7], 0.3) == 7
    assert percentile_of([], 0.5) == 0.0


def test_buckets_follow_the_time_zone_and_empty_ones_are_zero():
    workspace = WorkspaceFactory()
    # 02:30 UTC on the 3rd is still the 2nd in São Paulo (UTC-3).
    make_events(workspace, {"timestamp": at(3, 2, 30)}, {"timestamp": at(3, 12)},
                {"timestamp": at(5, 1)})
    metric = MetricFactory(workspace=workspace)
    zone = ZoneInfo("America/Sao_Paulo")
    start, end = datetime(2026, 3, 1, tzinfo=zone), datetime(2026, 3, 6, tzinfo=zone)
    local = metrics.metric_series(metric, start=start, end=end, tz="America/Sao_Paulo")
    assert [(p["bucket"], p["value"]) for p in local["series"][0]["points"]] == [
        ("2026-03-01T00:00:00-03:00", 0), ("2026-03-02T00:00:00-03:00", 1),
        ("2026-03-03T00:00:00-03:00", 1), ("2026-03-04T00:00:00-03:00", 1),
        ("2026-03-05T00:00:00-03:00", 0)]
    utc = metrics.metric_series(metric, start=start, end=end)
    assert [p["value"] for p in utc["series"][0]["points"]] == [0, 0, 2, 0, 1, 0]
    assert local["total"] == utc["total"] == 3


def test_hours_across_a_daylight_saving_change_and_weeks_and_months():
    workspace = WorkspaceFactory()
    # Lisbon springs forward at 01:00 UTC on 2026-03-29: 01:00 local never happens.
    make_events(workspace, {"timestamp": datetime(2026, 3, 29, 0, 30, tzinfo=UTC)},
                {"timestamp": datetime(2026, 3, 29, 1, 30, tzinfo=UTC)})
    metric = MetricFactory(workspace=workspace)
    hours = metrics.metric_series(metric, start=datetime(2026, 3, 29, tzinfo=UTC),
                                  end=datetime(2026, 3, 29, 3, tzinfo=UTC), interval="hour",
                                  tz="Europe/Lisbon")
    assert [(p["bucket"], p["value"]) for p in hours["series"][0]["points"]] == [
        ("2026-03-29T00:00:00+00:00", 1), ("2026-03-29T02:00:00+01:00", 1),
        ("2026-03-29T03:00:00+01:00", 0)]
    weeks = metrics.metric_series(metric, start=datetime(2026, 3, 18, tzinfo=UTC),
                                  end=datetime(2026, 4, 2, tzinfo=UTC), interval="week")
    assert [(p["bucket"][:10], p["value"]) for p in weeks["series"][0]["points"]] == [
        ("2026-03-16", 0), ("2026-03-23", 2), ("2026-03-30", 0)]
    months = metrics.metric_series(metric, start=datetime(2025, 12, 5, tzinfo=UTC),
                                   end=datetime(2026, 4, 1, tzinfo=UTC), interval="month")
    assert [(p["bucket"][:7], p["value"]) for p in months["series"][0]["points"]] == [
        ("2025-12", 0), ("2026-01", 0), ("2026-02", 0), ("2026-03", 2)]


def test_breakdown_keeps_the_values_with_most_events(workspace):
    metric = MetricFactory(workspace=workspace, kind="count")
    result = metrics.metric_series(metric, start=START, end=END, breakdown_property="plan",
                                   breakdown_limit=2)
    assert [s["label"] for s in result["series"]] == ["pro", "free"]
    counts = {s["label"]: sum(p["value"] for p in s["points"]) for s in result["series"]}
    assert counts == {"pro": 24, "free": 12}
    assert result["total"] == 60  # every matching event, not only those of the shown values
    by_country = metrics.metric_series(
        MetricFactory(workspace=workspace, kind="unique"), start=START, end=END,
        breakdown_property="country", breakdown_limit=10)
    assert sorted(s["label"] for s in by_country["series"]) == ["BR", "ES", "FR", "PT"]


@pytest.mark.postgres
def test_breakdown_values_equal_sql_per_value(workspace):
    metric = MetricFactory(workspace=workspace, kind="sum", property="amount")
    result = metrics.metric_series(metric, start=START, end=END, breakdown_property="country")
    for series in result["series"]:
        expected = sql_by_day(workspace, AGGREGATES["sum"], "properties ->> 'country' = %s",
                              [series["label"]])
        assert {k: v for k, v in points(result, result["series"].index(series)).items()
                if k in expected} == pytest.approx(expected)


@pytest.mark.parametrize("fields, field, message", [
    ({"kind": "sum", "property": ""}, "property", "needs the numeric property"),
    ({"kind": "percentile", "property": "amount", "percentile": None}, "percentile",
     "from 0 to 100"),
    ({"filters": [{"property": "plan", "op": "like", "value": "x"}]}, "filters",
     "'op' must be one of"),
    ({"filters": [{"property": "amount", "op": "gt", "value": "ten"}]}, "filters",
     "must be a number"),
    ({"filters": [{"property": "amount", "op": "lt", "value": 10**400}]}, "filters",
     "must be a number"),
    ({"filters": [{"property": "", "op": "eq", "value": 1}]}, "filters", "non-empty"),
    ({"filters": [{"property": "plan", "op": "eq"}]}, "filters", "needs a 'value'"),
    ({"filters": [{"property": "plan", "op": "exists", "value": "yes"}]}, "filters",
     "true or false"),
    ({"filters": {"plan": "pro"}}, "filters", "list"),
])
def test_bad_definitions_are_refused_with_a_clear_message(fields, field, message):
    metric = MetricFactory.build(workspace=WorkspaceFactory(), **fields)
    with pytest.raises(ValidationError) as refused:
        metric_validate(metric)
    assert message in " ".join(refused.value.message_dict[field])
    with pytest.raises(ValidationError):
        metrics.metric_series(metric, start=START, end=END)


def test_bad_windows_are_refused():
    metric = MetricFactory(workspace=WorkspaceFactory())
    for kwargs, field in [({"interval": "decade"}, "interval"), ({"tz": "Mars/Olympus"}, "tz"),
                          ({"start": END, "end": START}, "from"),
                          ({"interval": "hour", "start": datetime(2000, 1, 1, tzinfo=UTC)},
                           "interval")]:
        with pytest.raises(ValidationError) as refused:
            metrics.metric_series(metric, **{"start": START, "end": END, **kwargs})
        assert field in refused.value.message_dict


def test_a_valid_metric_passes_and_kinds_read_only_numbers():
    metric = MetricFactory.build(workspace=WorkspaceFactory(), kind=Metric.Kind.AVERAGE,
                                 property="amount", filters=[
                                     {"property": "plan", "op": "exists"}])
    metric_validate(metric)
