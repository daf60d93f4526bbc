"""The event catalogue: every event the apps emit is documented by a JSON Schema, the
schemas are checked when registered and (when validation is on) against every payload,
and the catalogue is served by the API and written to docs/events.md."""

import io
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.test import override_settings
from rest_framework.test import APIClient

from core import events
from reports.services import deliveries
from tests.factories import (
    ApiKeyFactory,
    MembershipFactory,
    ReportDefinitionFactory,
    ReportRunFactory,
    UserFactory,
    WorkspaceFactory,
)

CHECKED = "tests.catalogue.checked"
CHECKED_SCHEMA = {
    "type": "object",
    "properties": {"order": {"type": "integer", "minimum": 1},
                   "at": {"type": "string", "format": "date-time"},
                   "note": {"type": "string"}},
    "required": ["order", "at"],
    "additionalProperties": False,
}
events.register(CHECKED, version=1, description="A test's own event.", schema=CHECKED_SCHEMA)


@pytest.fixture
def received():
    seen: list[events.Event] = []
    events.subscribe(seen.append)
    yield seen
    events.unsubscribe(seen.append)


# --- registering ---------------------------------------------------------------------------


@pytest.mark.parametrize(("schema", "message"), [
    ({"type": "object", "properties": {"n": {"type": "number-ish"}}},
     r"not a valid JSON Schema .* at properties/n/type"),
    ({"type": "object", "required": "order"}, r"not a valid JSON Schema .* at required"),
    ({"type": "array", "items": {"type": "integer"}}, "must describe a JSON object"),
    ({"properties": {"n": {"type": "integer"}}}, "must describe a JSON object"),
])
def test_a_schema_that_is_not_valid_is_refused_at_register(schema, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        events.register("tests.catalogue.broken", schema=schema)
    assert not events.is_registered("tests.catalogue.broken")


def test_every_event_the_apps_register_has_a_schema():
    catalogue = events.catalogue()
    names = [entry["name"] for entry in catalogue]
    # The examples, under the names the apps give them.
    assert {"workflows.execution.succeeded", "analytics.import.succeeded",
            "reports.delivery.sent", "billing.invoice.paid", "crm.call.completed",
            "crm.contact.converted"} <= set(names)
    assert [name for name, entry in zip(names, catalogue, strict=True)
            if entry["schema"] is None] == []
    assert [name for name, entry in zip(names, catalogue, strict=True)
            if not entry["description"]] == []


def test_the_catalogue_is_sorted_and_leaves_out_events_of_no_app():
    catalogue = events.catalogue()
    names = [entry["name"] for entry in catalogue]
    assert names == sorted(names)
    assert CHECKED in events.registered() and CHECKED not in names
    paid = next(entry for entry in catalogue if entry["name"] == "billing.invoice.paid")
    assert set(paid) == {"name", "version", "description", "schema"}
    assert paid["version"] == 1 and paid["schema"]["required"][0] == "invoice"
    paid["schema"]["required"].clear()  # a consumer's copy: the registry keeps its own
    assert events.registered()["billing.invoice.paid"].schema["required"][0] == "invoice"


# --- emitting ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@override_settings(EVENTS_VALIDATE_PAYLOADS=True)
def test_with_validation_on_a_payload_that_breaks_its_schema_is_refused(received):
    with pytest.raises(events.InvalidPayload) as refused:
        events.emit(CHECKED, {"order": "7", "at": "yesterday", "extra": 1}, workspace_id=1)
    text = str(refused.value)
    assert CHECKED in text
    assert "order: '7' is not of type 'integer'" in text
    assert "at: 'yesterday' is not a 'date-time'" in text
    assert "'extra' was unexpected" in text
    with pytest.raises(events.InvalidPayload, match="'at' is a required property"):
        events.emit(CHECKED, {"order": 7}, workspace_id=1)
    assert received == []  # nothing half-announced

    # Checked as consumers get it: a datetime is sent as ISO 8601 text.
    event = events.emit(CHECKED, {"order": 7, "at": datetime(2026, 1, 5, 8, tzinfo=UTC)},
                        workspace_id=1)
    assert received == [event] and event.payload["at"] == "2026-01-05T08:00:00Z"


@pytest.mark.django_db(transaction=True)
@override_settings(EVENTS_VALIDATE_PAYLOADS=False)
def test_with_validation_off_payloads_are_not_checked(received):
    event = events.emit(CHECKED, {"order": "7"}, workspace_id=1)
    assert received == [event]


@pytest.mark.django_db
@override_settings(EVENTS_VALIDATE_PAYLOADS=True)
def test_a_sent_report_delivery_is_announced_as_its_schema_says(
        received, django_capture_on_commit_callbacks):
    workspace = WorkspaceFactory()
    reader = MembershipFactory(workspace=workspace, role="viewer").user
    definition = ReportDefinitionFactory(workspace=workspace, kind="regional_sales",
                                         recipients=[reader])
    run = ReportRunFactory(workspace=workspace, definition=definition)
    delivery = deliveries.deliveries_create(run)[0]
    with django_capture_on_commit_callbacks(execute=True):
        deliveries.delivery_send(delivery.pk)
        deliveries.delivery_send(delivery.pk)  # a duplicated task sends and tells nothing
    assert len(mail.outbox) == 1
    announced = [e for e in received if e.name == "reports.delivery.sent"]
    assert len(announced) == 1 and announced[0].workspace_id == workspace.pk
    payload = announced[0].payload
    assert (payload["delivery"], payload["run"], payload["recipient"], payload["kind"]) == \
        (delivery.pk, run.pk, reader.pk, "regional_sales")
    assert payload["requested_by"] is None and payload["attempts"] == 1
    assert reader.email not in str(payload)  # addresses stay out of stored payloads


@pytest.mark.django_db
def test_a_delivery_the_mail_server_refuses_announces_nothing(
        received, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "tests.reports.conftest.FlakyBackend"
    from tests.reports.conftest import FlakyBackend

    FlakyBackend.calls, FlakyBackend.failures = 0, 1
    workspace = WorkspaceFactory()
    reader = MembershipFactory(workspace=workspace, role="viewer").user
    run = ReportRunFactory(workspace=workspace, definition=ReportDefinitionFactory(
        workspace=workspace, recipients=[reader]))
    delivery = deliveries.deliveries_create(run)[0]
    with django_capture_on_commit_callbacks(execute=True), \
            pytest.raises(deliveries.DeliveryFailed):
        deliveries.delivery_send(delivery.pk)
    assert [e for e in received if e.name == "reports.delivery.sent"] == []


# --- API -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_catalogue_api_needs_a_signed_in_caller():
    client = APIClient()
    for url in ("/api/v1/events/types/", "/api/v1/events/types/billing.invoice.paid/"):
        answer = client.get(url)
        assert answer.status_code == 401, url
        assert answer.json()["code"] == "not_authenticated"


@pytest.mark.django_db
def test_any_signed_in_user_or_api_key_reads_the_catalogue():
    client = APIClient()
    client.force_login(UserFactory())  # a member of no workspace: global reference data
    answer = client.get("/api/v1/events/types/")
    assert answer.status_code == 200
    assert answer.json() == events.catalogue()

    keyed = APIClient()
    keyed.credentials(HTTP_AUTHORIZATION=f"Api-Key {ApiKeyFactory(role='viewer').raw}")
    one = keyed.get("/api/v1/events/types/reports.delivery.sent/")
    assert one.status_code == 200
    body = one.json()
    assert (body["name"], body["version"]) == ("reports.delivery.sent", 1)
    assert "sent_at" in body["schema"]["properties"]


@pytest.mark.django_db
def test_an_unknown_event_name_answers_404_and_nobody_writes():
    client = APIClient()
    client.force_login(UserFactory())
    for name in ("no.such.event", CHECKED):  # a test's event is no app's: not listed
        answer = client.get(f"/api/v1/events/types/{name}/")
        assert answer.status_code == 404
        assert answer.json()["code"] == "not_found"
    assert client.post("/api/v1/events/types/", {}, format="json").status_code == 405


# --- docs/events.md ------------------------------------------------------------------------


def test_committed_event_catalogue_is_current():
    out = io.StringIO()
    call_command("event_catalogue", "--check", stdout=out)
    assert "up to date" in out.getvalue()


def test_stale_event_catalogue_fails_the_check(tmp_path):
    stale = tmp_path / "events.md"
    stale.write_text("# Domain events\n")
    with pytest.raises(CommandError, match="stale"):
        call_command("event_catalogue", "--check", "--output", str(stale))


def test_the_catalogue_page_documents_each_event_and_its_consumers(tmp_path):
    target = tmp_path / "events.md"
    call_command("event_catalogue", "--output", str(target), stdout=io.StringIO())
    text = target.read_text()
    for consumer in ("Workflow event triggers", "Outbound webhooks", "Analytics"):
        assert consumer in text
    assert "## `crm.contact.converted`\n\nVersion 1.  A contact became a customer." in text
    assert '"required": [\n    "contact",' in text  # the schema, as a JSON block
    assert "| `value` | integer | yes |" in text
    assert CHECKED not in text
