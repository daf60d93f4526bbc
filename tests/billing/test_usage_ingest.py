"""Usage ingestion: a batch is idempotent by (workspace, transaction id), all or nothing,
with line-level errors; only staff service accounts send usage, into their workspaces."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from billing import metering, metering_ingest
from billing.models import UsageRecord
from core.api.errors import ApiError
from tests.factories import ApiKeyFactory, MembershipFactory, UserFactory, WorkspaceFactory

from .usage_support import BATCH_URL, client_for, event, service_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def workspace(db):
    return WorkspaceFactory(name="Acme")


@pytest.fixture
def service(workspace):
    return client_for(service_account(workspace))


def _post(client, events, source="meter"):
    return client.post(BATCH_URL, {"source": source, "events": events}, format="json")


def test_a_batch_is_recorded_and_resending_it_counts_once(service, workspace):
    events = [event(workspace, f"t-{n}", quantity=n + 1, properties={"node": n})
              for n in range(5)]
    first = _post(service, events)
    assert first.status_code == 200, first.content
    assert first.json() == {"received": 5, "accepted": 5, "duplicates": 0}
    again = _post(service, events)
    assert again.json() == {"received": 5, "accepted": 0, "duplicates": 5}
    assert UsageRecord.objects.filter(workspace=workspace).count() == 5
    start, end = metering_ingest.period_bounds(workspace.pk, now=metering_ingest.datetime(
        2026, 3, 15, tzinfo=metering_ingest.UTC))
    assert metering.total(workspace.pk, "executions", start, end) == 1 + 2 + 3 + 4 + 5
    row = UsageRecord.objects.get(transaction_id="t-2")
    assert (row.quantity, row.source, row.properties) == (3, "meter", {"node": 2})


def test_duplicates_inside_one_batch_count_once(service, workspace):
    events = [event(workspace, "same", quantity=7), event(workspace, "same", quantity=7),
              event(workspace, "other")]
    body = _post(service, events).json()
    assert body == {"received": 3, "accepted": 2, "duplicates": 1}
    assert metering.totals(workspace.pk, *metering_ingest._calendar_month(
        metering_ingest.datetime(2026, 3, 1, tzinfo=metering_ingest.UTC))) == {"executions": 8}


def test_a_partly_known_batch_writes_only_the_new_events(service, workspace):
    metering.record(workspace_id=workspace.pk, metric="tokens", quantity=10,
                    transaction_id="llm:1")
    body = _post(service, [event(workspace, "llm:1", metric="tokens", quantity=10),
                           event(workspace, "llm:2", metric="tokens", quantity=4)]).json()
    assert body == {"received": 2, "accepted": 1, "duplicates": 1}
    assert sorted(UsageRecord.objects.values_list("transaction_id", "quantity")) == [
        ("llm:1", 10), ("llm:2", 4)]


def test_the_same_transaction_id_in_two_workspaces_is_two_events(workspace):
    other = WorkspaceFactory()
    client = client_for(service_account(workspace, other))
    body = _post(client, [event(workspace, "x"), event(other, "x")]).json()
    assert body == {"received": 2, "accepted": 2, "duplicates": 0}


def test_one_bad_event_rejects_the_batch_with_every_problem_listed(service, workspace):
    events = [
        event(workspace, "ok-1"),
        event(workspace, "bad-1", quantity=-1),
        event(workspace, "", metric="not a slug"),
        {"workspace": workspace.pk, "metric": "tokens", "quantity": 1.5,
         "transaction_id": "x" * 121, "occurred_at": "2026-03-10T12:00:00", "colour": "red"},
        event(workspace, "bad-4", quantity=True, properties=["a"]),
        "not an object",
        {"metric": "tokens"},
        event(workspace, "ok-2"),
    ]
    response = _post(service, events)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["message"] == "6 of 8 events are invalid; nothing was recorded."
    problems = {(p["index"], p["field"]) for p in body["errors"]["events"]}
    assert problems == {
        (1, "quantity"), (2, "transaction_id"), (2, "metric"),
        (3, "quantity"), (3, "transaction_id"), (3, "occurred_at"), (3, "colour"),
        (4, "quantity"), (4, "properties"), (5, "non_field_errors"),
        (6, "workspace"), (6, "quantity"), (6, "transaction_id"), (6, "occurred_at"),
    }
    assert all(p["reason"] for p in body["errors"]["events"])
    assert not UsageRecord.objects.exists()


@pytest.mark.parametrize("occurred_at", ["yesterday", "2026-02-30T10:00:00Z", "2026-03-10",
                                         1700000000, "2026-03-10T10:00:00"])
def test_occurred_at_must_be_an_aware_iso_datetime(service, workspace, occurred_at):
    response = _post(service, [event(workspace, "t", occurred_at=occurred_at)])
    assert response.status_code == 400
    assert response.json()["errors"]["events"][0]["field"] == "occurred_at"


def test_offsets_are_kept_as_instants(service, workspace):
    _post(service, [event(workspace, "t", occurred_at="2026-03-31T23:30:00-02:00")])
    row = UsageRecord.objects.get()
    assert row.occurred_at.isoformat() == "2026-04-01T01:30:00+00:00"


def test_batch_bounds(service, workspace):
    too_many = [event(workspace, f"t{n}") for n in range(metering_ingest.MAX_BATCH + 1)]
    response = _post(service, too_many)
    assert response.status_code == 400
    assert response.json()["code"] == "batch_too_large"
    assert _post(service, []).json() == {"received": 0, "accepted": 0, "duplicates": 0}
    assert service.post(BATCH_URL, {"source": "x"}, format="json").status_code == 400
    assert service.post(BATCH_URL, [1, 2], format="json").status_code == 400
    response = _post(service, [event(workspace, "t")], source="s" * 41)
    assert response.status_code == 400 and "source" in response.json()["errors"]
    assert not UsageRecord.objects.exists()


def test_another_tenants_workspace_is_refused_and_nothing_written(service, workspace):
    stranger = WorkspaceFactory(name="Other tenant")
    response = _post(service, [event(workspace, "mine"), event(stranger, "theirs"),
                               event(999_999, "nowhere")])
    assert response.status_code == 400
    problems = response.json()["errors"]["events"]
    assert [(p["index"], p["field"], p["reason"]) for p in problems] == [
        (1, "workspace", f"No workspace with id {stranger.pk} of yours."),
        (2, "workspace", "No workspace with id 999999 of yours.")]
    assert not UsageRecord.objects.exists()


def test_a_superuser_ingests_into_any_workspace(superuser, workspace):
    response = _post(client_for(superuser), [event(workspace, "t")])
    assert response.json()["accepted"] == 1


@pytest.mark.parametrize("who", ["member", "owner", "staff_without_perm",
                                 "member_with_perm"])
def test_clients_do_not_bill_themselves(workspace, who):
    if who in ("member", "owner"):
        user = MembershipFactory(workspace=workspace, role=who).user
    elif who == "staff_without_perm":
        user = service_account(workspace, perm=False)
    else:
        user = service_account(workspace, staff=False)
    response = _post(client_for(user), [event(workspace, "t")])
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not UsageRecord.objects.exists()


def test_an_api_key_gets_403_even_an_admin_one(workspace):
    key = ApiKeyFactory(workspace=workspace, role="admin")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key.raw}")
    response = _post(client, [event(workspace, "t")])
    assert response.status_code == 403
    assert not UsageRecord.objects.exists()


def test_anonymous_gets_401(workspace):
    assert _post(APIClient(), [event(workspace, "t")]).status_code == 401


def test_the_service_refuses_a_caller_who_may_not_ingest(workspace):
    from core.tenancy import Principal

    with pytest.raises(ApiError) as raised:
        metering_ingest.ingest([event(workspace, "t")], principal=Principal(user=UserFactory()))
    assert raised.value.status_code == 403


def test_internal_callers_ingest_without_a_principal(workspace):
    result = metering_ingest.ingest([event(workspace, "a"), event(workspace, "a")],
                                    source="import")
    assert result.as_dict() == {"received": 2, "accepted": 1, "duplicates": 1}


def test_the_portable_path_agrees_with_the_database_one(workspace):
    """SQLite's read-then-insert (make run) counts like PostgreSQL's ON CONFLICT."""
    metering.record(workspace_id=workspace.pk, metric="executions", quantity=1,
                    transaction_id="known")
    events, problems = metering_ingest._parse([event(workspace, "known"),
                                               event(workspace, "new", quantity=3)])
    assert problems == []
    assert metering_ingest._insert_portable(list(events.values()), "sqlite") == 1
    assert UsageRecord.objects.get(transaction_id="new").quantity == 3


@pytest.mark.parametrize("body, code", [
    (b'{"events": [', "invalid_json"),
    (b'{"events": ["\\ud800"]}', "invalid_text"),
    (b'{"events": [NaN]}', "invalid_json"),
    (b'{"events": ' + b"[" * 100_000 + b"}", "too_deep"),
    (b'{"events": ' + b"[" * 100 + b"]" * 100 + b"}", "invalid"),  # an event not an object
])
def test_malformed_bodies_are_structured_400s(service, body, code):
    response = service.generic("POST", BATCH_URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert not UsageRecord.objects.exists()


def test_an_oversized_body_is_a_413(service, workspace, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    response = _post(service, [event(workspace, f"t{n}") for n in range(40)])
    assert response.status_code == 413
    assert not UsageRecord.objects.exists()


def test_a_form_body_is_refused_without_a_500(service, workspace):
    response = service.post(BATCH_URL, {"events": "x", "source": "form"})  # multipart
    assert response.status_code == 400
    assert not UsageRecord.objects.exists()


def test_deeply_nested_properties_are_a_line_error(service, workspace):
    deep: dict = {}
    for _ in range(40):
        deep = {"d": deep}
    response = _post(service, [event(workspace, "ok"), event(workspace, "deep", properties=deep)])
    assert response.status_code == 400
    assert [(p["index"], p["field"]) for p in response.json()["errors"]["events"]] == [
        (1, "properties")]
    assert not UsageRecord.objects.exists()
