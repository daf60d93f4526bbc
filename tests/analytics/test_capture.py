"""Product event capture: POST analytics/capture/ and analytics/batch/, the event list,
and domain events stored as product events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from analytics import domain_events
from analytics.models import Event
from analytics.services import capture
from core import events
from core.api.errors import ApiError
from tests.factories import (
    ApiKeyFactory,
    ApiTokenFactory,
    EventFactory,
    MembershipFactory,
    UserFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.django_db

CAPTURE_URL = "/api/v1/analytics/capture/"
BATCH_URL = "/api/v1/analytics/batch/"
LIST_URL = "/api/v1/analytics/events/"


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {ApiTokenFactory(user=user).raw_token}")
    return client


def key_client(workspace, role: str = "member") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key "
                                          f"{ApiKeyFactory(workspace=workspace, role=role).raw}")
    return client


def member(workspace, role: str = "member"):
    user = UserFactory()
    MembershipFactory(workspace=workspace, user=user, role=role)
    return user


def batch(n: int, prefix: str = "e") -> list[dict]:
    return [{"event": "page_viewed", "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{prefix}{i}")),
             "distinct_id": f"person-{i % 7}", "properties": {"path": f"/p/{i}"},
             "timestamp": "2026-11-02T10:00:00Z"} for i in range(n)]


@pytest.fixture
def workspace():
    return WorkspaceFactory()


@pytest.fixture
def client(workspace):
    return token_client(member(workspace))


def test_a_batch_sent_twice_stores_each_event_once(workspace, client):
    events_sent = batch(50)
    first = client.post(BATCH_URL, {"workspace": workspace.pk, "batch": events_sent},
                        format="json")
    again = client.post(BATCH_URL, {"workspace": workspace.pk, "batch": events_sent},
                        format="json")

    assert first.status_code == 200, first.content
    assert first.json() == {"received": 50, "stored": 50, "duplicates": 0}
    assert again.json() == {"received": 50, "stored": 0, "duplicates": 50}
    assert Event.objects.filter(workspace=workspace).count() == 50
    stored = Event.objects.get(uuid=events_sent[3]["uuid"])
    assert (stored.name, stored.distinct_id, stored.properties) == \
        ("page_viewed", "person-3", {"path": "/p/3"})
    assert stored.timestamp == datetime(2026, 11, 2, 10, tzinfo=UTC)
    assert stored.source == Event.Source.API and stored.received_at is not None


def test_a_uuid_repeated_in_one_batch_is_stored_once_and_the_first_wins(workspace, client):
    events_sent = batch(3)
    events_sent.append({**events_sent[0], "event": "signup"})

    answer = client.post(BATCH_URL, {"workspace": workspace.pk, "batch": events_sent},
                         format="json")

    assert answer.json() == {"received": 4, "stored": 3, "duplicates": 1}
    assert Event.objects.get(uuid=events_sent[0]["uuid"]).name == "page_viewed"


def test_a_uuid_in_another_spelling_is_the_same_event(workspace, client):
    spelled = ["0190D6C2-5F3E-7C3A-9D1E-2B4F6A8C0E12", "{0190d6c2-5f3e-7c3a-9d1e-2b4f6a8c0e12}",
               "0190d6c25f3e7c3a9d1e2b4f6a8c0e12"]

    answer = client.post(BATCH_URL, {"workspace": workspace.pk,
                                     "batch": [{"event": "x", "uuid": u} for u in spelled]},
                         format="json")
    again = client.post(CAPTURE_URL, {"workspace": workspace.pk, "event": "x",
                                      "uuid": "0190d6c2-5f3e-7c3a-9d1e-2b4f6a8c0e12"},
                        format="json")

    assert answer.json() == {"received": 3, "stored": 1, "duplicates": 2}
    assert again.json()["duplicates"] == 1
    assert str(Event.objects.get().uuid) == "0190d6c2-5f3e-7c3a-9d1e-2b4f6a8c0e12"


def test_the_same_uuid_in_another_workspace_is_another_event(workspace, client):
    other = WorkspaceFactory()
    one = batch(1)
    client.post(BATCH_URL, {"workspace": workspace.pk, "batch": one}, format="json")
    answer = key_client(other).post(BATCH_URL, {"batch": one}, format="json")

    assert answer.json()["stored"] == 1
    assert Event.objects.filter(uuid=one[0]["uuid"]).count() == 2


def test_one_bad_event_rejects_the_batch_naming_it_and_stores_nothing(workspace, client):
    events_sent = batch(5)
    events_sent[3]["timestamp"] = "yesterday"
    events_sent[1]["colour"] = "red"
    events_sent[4] = "not an object"

    answer = client.post(BATCH_URL, {"workspace": workspace.pk, "batch": events_sent},
                         format="json")

    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {"batch[3].timestamp", "batch[1].colour", "batch[4]"}
    assert "ISO 8601" in body["errors"]["batch[3].timestamp"][0]
    assert Event.objects.count() == 0


@pytest.mark.parametrize(("field", "value"), [
    ("event", ""), ("event", "x" * 201), ("event", 5), ("uuid", "not-a-uuid"),
    ("distinct_id", ["a"]), ("session_id", "s" * 201), ("properties", [1, 2]),
    ("timestamp", "2026-11-02T10:00:00"),  # no UTC offset
])
def test_each_field_is_checked(workspace, client, field, value):
    event = {**batch(1)[0], field: value}

    answer = client.post(BATCH_URL, {"workspace": workspace.pk, "batch": [event]},
                         format="json")

    assert answer.status_code == 400
    assert list(answer.json()["errors"]) == [f"batch[0].{field}"]
    assert not Event.objects.exists()


def test_an_event_without_a_name_is_refused(workspace, client):
    answer = client.post(CAPTURE_URL, {"workspace": workspace.pk, "properties": {}},
                         format="json")

    assert answer.status_code == 400
    assert answer.json()["errors"] == {"event": ["This field is required."]}


def test_a_time_more_than_a_day_ahead_is_refused_a_few_hours_is_kept(workspace, client):
    now = timezone.now()
    far = {"event": "x", "timestamp": (now + timedelta(days=2)).isoformat()}
    near = {"event": "x", "timestamp": (now + timedelta(hours=3)).isoformat()}

    refused = client.post(CAPTURE_URL, {"workspace": workspace.pk, **far}, format="json")
    kept = client.post(CAPTURE_URL, {"workspace": workspace.pk, **near}, format="json")

    assert refused.status_code == 400
    assert "a day ahead" in refused.json()["errors"]["timestamp"][0]
    assert kept.status_code == 200
    assert Event.objects.count() == 1


def test_a_single_event_defaults_person_time_and_id(workspace):
    user = member(workspace)
    before = timezone.now()

    answer = token_client(user).post(CAPTURE_URL, {"workspace": workspace.pk,
                                                   "event": "signup"}, format="json")

    assert answer.status_code == 200, answer.content
    assert answer.json() == {"received": 1, "stored": 1, "duplicates": 0}
    event = Event.objects.get()
    assert event.distinct_id == str(user.pk)
    assert before <= event.timestamp == event.received_at <= timezone.now()
    assert event.properties == {} and event.uuid is not None


@override_settings(ANALYTICS_CAPTURE_MAX_BATCH=3)
def test_batches_over_the_limit_are_refused(workspace, client):
    answer = client.post(BATCH_URL, {"workspace": workspace.pk, "batch": batch(4)},
                         format="json")

    assert answer.status_code == 400
    assert answer.json()["errors"] == {"batch": ["A list of 1 to 3 events is expected."]}


@override_settings(ANALYTICS_EVENT_MAX_PROPERTIES_BYTES=100)
def test_properties_over_the_limit_are_refused(workspace, client):
    event = {"event": "x", "properties": {"text": "a" * 100}}

    answer = client.post(CAPTURE_URL, {"workspace": workspace.pk, **event}, format="json")

    assert answer.status_code == 400
    assert "At most 100 bytes" in answer.json()["errors"]["properties"][0]


# --- who may send, and where -----------------------------------------------------------


def test_session_sign_in_captures(workspace):
    client = APIClient()
    client.force_login(member(workspace))

    answer = client.post(CAPTURE_URL, {"workspace": workspace.pk, "event": "x"},
                         format="json")

    assert answer.status_code == 200
    assert Event.objects.filter(workspace=workspace).count() == 1


def test_an_api_key_sends_to_its_own_workspace_only(workspace):
    other = WorkspaceFactory()
    client = key_client(workspace)

    own = client.post(BATCH_URL, {"batch": [{"event": "opened"}]}, format="json")
    elsewhere = client.post(BATCH_URL, {"workspace": other.pk, "batch": batch(2)},
                            format="json")

    assert own.status_code == 200 and own.json()["stored"] == 1
    assert elsewhere.status_code == 400
    assert list(elsewhere.json()["errors"]) == ["workspace"]
    event = Event.objects.get()
    assert (event.workspace_id, event.distinct_id) == (workspace.pk, "")  # no person


def test_anonymous_callers_get_401(workspace):
    answer = APIClient().post(BATCH_URL, {"workspace": workspace.pk, "batch": batch(1)},
                              format="json")

    assert answer.status_code == 401
    assert not Event.objects.exists()


def test_viewers_and_viewer_keys_may_not_send(workspace):
    for client in (token_client(member(workspace, "viewer")), key_client(workspace, "viewer")):
        answer = client.post(CAPTURE_URL, {"workspace": workspace.pk, "event": "x"},
                             format="json")
        assert answer.status_code == 403
    assert not Event.objects.exists()


def test_another_tenants_workspace_is_unknown(workspace, client):
    other = WorkspaceFactory()

    answer = client.post(CAPTURE_URL, {"workspace": other.pk, "event": "x"}, format="json")

    assert answer.status_code == 400
    assert answer.json()["errors"] == {"workspace": [f"No workspace with id {other.pk} of "
                                                     "yours."]}
    assert not Event.objects.exists()


def test_a_user_must_name_the_workspace(client):
    answer = client.post(BATCH_URL, {"batch": batch(1)}, format="json")

    assert answer.status_code == 400
    assert list(answer.json()["errors"]) == ["workspace"]


def test_the_service_checks_the_role_whatever_the_door(workspace):
    viewer = member(workspace, "viewer")

    with pytest.raises(ApiError) as refused:
        capture.capture_batch(workspace=workspace, events=batch(1), user=viewer)

    assert refused.value.status_code == 403
    assert capture.capture_batch(workspace=workspace, events=batch(1)).stored == 1


# --- reading --------------------------------------------------------------------------


def test_the_list_shows_only_your_workspaces_events_with_filters(workspace, client):
    EventFactory(workspace=workspace, name="signup", distinct_id="ana",
                 timestamp=datetime(2026, 10, 5, tzinfo=UTC))
    EventFactory(workspace=workspace, name="signup", distinct_id="bob",
                 timestamp=datetime(2026, 11, 5, tzinfo=UTC))
    EventFactory(workspace=workspace, name="page_viewed", distinct_id="ana",
                 timestamp=datetime(2026, 11, 6, tzinfo=UTC))
    EventFactory(name="signup")  # another tenant's

    def names(**query):
        answer = client.get(LIST_URL, query)
        assert answer.status_code == 200, answer.content
        return sorted((e["name"], e["distinct_id"]) for e in answer.json()["results"])

    assert len(names()) == 3
    assert names(name="signup") == [("signup", "ana"), ("signup", "bob")]
    assert names(distinct_id="ana") == [("page_viewed", "ana"), ("signup", "ana")]
    assert names(timestamp__gte="2026-11-01T00:00:00Z",
                 timestamp__lt="2026-11-06T00:00:00Z") == [("signup", "bob")]


def test_events_cannot_be_written_through_the_list(workspace, client):
    answer = client.post(LIST_URL, {"workspace": workspace.pk, "name": "x"}, format="json")

    assert answer.status_code == 405


# --- domain events --------------------------------------------------------------------


@pytest.fixture
def connected():
    domain_events.connect()
    yield
    events.unsubscribe(domain_events.store)


def test_a_domain_event_is_stored_as_a_product_event(workspace, connected,
                                                     django_capture_on_commit_callbacks):
    events.register("tests.import.done", schema={"type": "object"})  # tests.*: not listed
    with django_capture_on_commit_callbacks(execute=True):
        sent = events.emit("tests.import.done", {"job": 7, "rows_imported": 3},
                           workspace_id=workspace.pk)

    stored = Event.objects.get(source=Event.Source.DOMAIN)
    assert stored.workspace_id == workspace.pk
    assert stored.name == "tests.import.done"
    assert stored.uuid == uuid.UUID(sent.id)
    assert stored.properties == {"job": 7, "rows_imported": 3}
    assert stored.distinct_id == ""
    assert stored.timestamp == sent.occurred_at


def test_a_domain_event_dispatched_twice_is_stored_once(workspace, connected):
    sent = events.Event(name="analytics.import.failed", version=1,
                        workspace_id=workspace.pk, payload={})

    events.dispatch(sent)
    events.dispatch(sent)

    assert Event.objects.filter(uuid=uuid.UUID(sent.id)).count() == 1
