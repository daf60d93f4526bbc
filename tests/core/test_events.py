"""Domain events: dispatched after commit, never for a rolled-back change, and a failing
consumer never breaks the emitter; analytics and reports announce their outcomes."""

import logging
from datetime import UTC, datetime

import pytest
from django.db import transaction

from core import events
from reports.models import ReportRun
from reports.services import runs
from tests.analytics.helpers import csv_file, run_one, sale
from tests.factories import ReportDefinitionFactory, WorkspaceFactory
from tests.reports.conftest import Q1_2025, add_sales

HAPPENED = "tests.thing.happened"
events.register(HAPPENED, version=2, description="Something a test did.")


@pytest.fixture
def received():
    """The events dispatched while the test runs."""
    seen: list[events.Event] = []
    events.subscribe(seen.append)
    yield seen
    events.unsubscribe(seen.append)


@pytest.mark.django_db
def test_an_event_in_a_transaction_is_dispatched_when_it_commits(
        received, django_capture_on_commit_callbacks):
    # A real workspace: analytics stores every domain event as a product event of it.
    workspace = WorkspaceFactory()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = events.emit(HAPPENED, {"count": 3}, workspace_id=workspace.pk)
        assert received == []  # not before the change is committed
    assert received == [event]
    assert (event.name, event.version, event.workspace_id, event.payload) == \
        (HAPPENED, 2, workspace.pk, {"count": 3})
    assert len(event.id) == 32 and event.as_dict()["payload"] == {"count": 3}


@pytest.mark.django_db
def test_a_rolled_back_change_announces_nothing(received, django_capture_on_commit_callbacks):
    workspace = WorkspaceFactory()
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                events.emit(HAPPENED, {"count": 1}, workspace_id=workspace.pk)
                raise RuntimeError("the change failed")
        except RuntimeError:
            pass
        with transaction.atomic():
            kept = events.emit(HAPPENED, {"count": 2}, workspace_id=workspace.pk)
    assert received == [kept]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_an_event_is_dispatched_at_once(received):
    event = events.emit(HAPPENED, {}, workspace_id=WorkspaceFactory().pk)
    assert received == [event]


def test_an_unregistered_event_is_a_programming_error():
    with pytest.raises(events.UnknownEvent, match=r"tests\.never\.registered"):
        events.emit("tests.never.registered", {}, workspace_id=1)


def test_registering_again_is_harmless_but_not_as_another_version():
    events.register(HAPPENED, version=2)
    assert events.registered()[HAPPENED].description == ""
    events.register(HAPPENED, version=2, description="Something a test did.")
    with pytest.raises(Exception, match="version 2"):
        events.register(HAPPENED, version=3)
    with pytest.raises(Exception, match="dotted"):
        events.register("nodots")


@pytest.mark.django_db(transaction=True)
def test_a_failing_consumer_is_logged_and_the_others_still_hear(received, caplog):
    def broken(event):
        raise ValueError("consumer bug")

    events.subscribe(broken)
    try:
        with caplog.at_level(logging.ERROR, logger="core.events"):
            event = events.emit(HAPPENED, {"ok": True}, workspace_id=1)  # does not raise
    finally:
        events.unsubscribe(broken)
    assert received == [event]
    assert "consumer bug" in caplog.text and HAPPENED in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_handler_subscribed_twice_hears_once_and_the_payload_is_a_json_copy(received):
    events.subscribe(received.append)
    payload = {"at": datetime(2025, 1, 2, 3, 4, tzinfo=UTC), "rows": [1, 2]}
    events.emit(HAPPENED, payload, workspace_id=1)
    payload["rows"].append(3)
    assert len(received) == 1
    assert received[0].payload == {"at": "2025-01-02T03:04:00Z", "rows": [1, 2]}


def test_the_apps_register_the_events_they_emit():
    assert {"analytics.import.succeeded", "analytics.import.failed",
            "reports.run.succeeded", "reports.run.failed",
            "workflows.execution.succeeded", "workflows.execution.failed"} \
        <= set(events.registered())


# --- emitted by the apps -------------------------------------------------------------------


def _named(received, prefix):
    return [e for e in received if e.name.startswith(prefix)]


@pytest.mark.django_db
def test_a_finished_import_is_announced(received, django_capture_on_commit_callbacks):
    workspace = WorkspaceFactory()
    with django_capture_on_commit_callbacks(execute=True):
        job = run_one(workspace, "sales", csv_file("sales", [sale()]))
        bad = run_one(workspace, "sales", csv_file("sales", [], name="empty.csv"))
    announced = _named(received, "analytics.")
    assert [(e.name, e.payload["job"]) for e in announced] == [
        ("analytics.import.succeeded", job.pk), ("analytics.import.failed", bad.pk)]
    assert announced[0].workspace_id == workspace.pk
    assert announced[0].payload["rows_imported"] == 1
    assert announced[0].payload["dataset"] == "sales"


@pytest.mark.django_db
def test_a_report_run_that_succeeds_or_fails_is_announced(
        received, monkeypatch, django_capture_on_commit_callbacks):
    workspace = WorkspaceFactory()
    add_sales(workspace)
    definition = ReportDefinitionFactory(workspace=workspace, kind="regional_sales",
                                         parameters=dict(Q1_2025))
    slot = datetime(2025, 4, 1, 7, tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=True):
        run, _ = runs.run_create(definition, trigger=ReportRun.Trigger.SCHEDULE, slot=slot)
        runs.run_execute(run.pk)
    monkeypatch.setattr(runs.kinds, "build", lambda *a: 1 / 0)
    with django_capture_on_commit_callbacks(execute=True):
        failed, _ = runs.run_create(definition, trigger=ReportRun.Trigger.MANUAL)
        runs.run_execute(failed.pk)
    announced = _named(received, "reports.run.")
    assert [(e.name, e.payload["run"]) for e in announced] == [
        ("reports.run.succeeded", run.pk), ("reports.run.failed", failed.pk)]
    assert announced[0].payload["slot"] == slot.isoformat()
    assert announced[1].payload["error"].startswith("ZeroDivisionError")
