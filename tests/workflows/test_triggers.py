"""Schedule, event and webhook-secret triggers: their beat entries, one execution per
schedule slot, and event triggers that start executions only for committed changes."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django_celery_beat.models import PeriodicTask

from core import beat, events
from tests.factories import WorkspaceFactory
from tests.factories.workflows import WorkflowFactory, WorkflowVersionFactory
from workflows import trigger_tasks
from workflows.models import Execution, Trigger, Workflow
from workflows.services import triggers
from workspaces.services.vault import decrypt

pytestmark = pytest.mark.django_db
Kind = Trigger.Kind
DAILY = {"cron": "0 2 * * *", "timezone": "America/Sao_Paulo"}
SLOT = datetime(2025, 4, 1, 5, 0, tzinfo=UTC)  # 02:00 in São Paulo
REPORT_DONE = "reports.run.succeeded"


@pytest.fixture
def workflow():
    """An active workflow with a published version, ready to run."""
    workflow = WorkflowFactory(status=Workflow.Status.ACTIVE, input_schema={"type": "object"})
    WorkflowVersionFactory(workspace=workflow.workspace, workflow=workflow, number=1)
    return workflow


def beat_entry(trigger) -> PeriodicTask | None:
    trigger.refresh_from_db()
    return trigger.periodic_task


# --- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "config", "names"), [
    (Kind.SCHEDULE, {}, "cron:"),
    (Kind.SCHEDULE, {"cron": "61 * * * *"}, "cron:"),
    (Kind.SCHEDULE, {"cron": "0 2 * *"}, "cron: Write five fields"),
    (Kind.SCHEDULE, {"cron": "0 2 * * *", "timezone": "Mars/Olympus"}, "timezone:"),
    (Kind.SCHEDULE, {"cron": "0 0 29 2 1"}, "does not fire"),  # next: 2044
    (Kind.SCHEDULE, {"cron": "0 2 * * *", "every": 5}, "every: not a setting"),
    (Kind.EVENT, {"event": "reports.run.exploded"}, "event: 'reports.run.exploded'"),
    (Kind.EVENT, {"event": REPORT_DONE, "filter": {"kind": ["a"]}}, "filter:"),
    (Kind.WEBHOOK, {"auth": "basic"}, "auth:"),
    (Kind.WEBHOOK, {"max_body_bytes": 0}, "max_body_bytes:"),
    (Kind.WEBHOOK, {"max_body_bytes": 10**9}, "max_body_bytes:"),
    (Kind.MANUAL, {"cron": "* * * * *"}, "cron: not a setting"),
])
def test_a_bad_config_is_refused_naming_the_setting(workflow, kind, config, names):
    with pytest.raises(ValidationError) as caught:
        triggers.trigger_create(workflow=workflow, kind=kind, config=config)
    assert names in " ".join(caught.value.message_dict["config"])
    assert not Trigger.objects.exists() and not PeriodicTask.objects.exists()


def test_defaults_are_filled_in(workflow):
    schedule = triggers.trigger_create(workflow=workflow, kind=Kind.SCHEDULE,
                                       config={"cron": " 0  2 * * * "})
    hook = triggers.trigger_create(workflow=workflow, kind=Kind.WEBHOOK)
    assert schedule.config == {"cron": "0 2 * * *", "timezone": workflow.timezone}
    assert hook.config == {"auth": "hmac", "max_body_bytes": 1024 * 1024}


# --- schedule triggers and their beat entries ------------------------------------------------


def test_a_schedule_trigger_is_kept_in_step_with_its_beat_entry(workflow):
    trigger = triggers.trigger_create(workflow=workflow, kind=Kind.SCHEDULE, config=DAILY)
    task = beat_entry(trigger)
    assert task.task == "workflows.trigger_tasks.fire_schedule" and task.enabled
    assert task.kwargs == f'{{"trigger_id": {trigger.pk}}}'
    assert (task.crontab.minute, task.crontab.hour, str(task.crontab.timezone)) == \
        ("0", "2", "America/Sao_Paulo")

    triggers.trigger_update(trigger, config={"cron": "30 6 * * 1", "timezone": "UTC"})
    task = beat_entry(trigger)
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == \
        ("30", "6", "1")
    assert task.last_run_at is not None  # a new schedule counts from now

    triggers.trigger_update(trigger, enabled=False)
    assert beat_entry(trigger).enabled is False

    triggers.trigger_update(trigger, kind=Kind.MANUAL, config={})
    assert beat_entry(trigger) is None and not PeriodicTask.objects.exists()


def test_deleting_a_trigger_or_its_workflow_removes_the_beat_entry(workflow):
    first = triggers.trigger_create(workflow=workflow, kind=Kind.SCHEDULE, config=DAILY)
    triggers.trigger_create(workflow=workflow, kind=Kind.SCHEDULE, config=DAILY)
    assert PeriodicTask.objects.count() == 2
    triggers.trigger_delete(first)
    assert PeriodicTask.objects.count() == 1
    workflow.delete()  # cascades to the triggers without the service
    assert not PeriodicTask.objects.exists()


def test_a_duplicated_tick_starts_one_execution(workflow):
    trigger = triggers.trigger_create(workflow=workflow, kind=Kind.SCHEDULE,
                                      config={**DAILY, "input": {"region": "south"}})
    first = triggers.trigger_fire_schedule(trigger.pk, SLOT + timedelta(seconds=1))
    again = triggers.trigger_fire_schedule(trigger.pk, SLOT + timedelta(minutes=3))
    assert again.pk == first.pk
    assert Execution.objects.count() == 1
    assert (first.slot, first.source, first.trigger_id, first.input) == \
        (SLOT, Execution.Source.SCHEDULE, trigger.pk, {"region": "south"})
    tomorrow = triggers.trigger_fire_schedule(trigger.pk, SLOT + timedelta(days=1))
    assert tomorrow.pk != first.pk and Execution.objects.count() == 2
    trigger.refresh_from_db()
    assert trigger.last_fired_at is not None


def test_the_beat_task_maps_its_tick_to_the_slot(workflow):
    trigger = triggers.trigger_create(workflow=workflow, kind=Kind.SCHEDULE, config=DAILY)
    result = trigger_tasks.fire_schedule.run(trigger_id=trigger.pk,
                                             tick_at=(SLOT + timedelta(seconds=2)).isoformat())
    assert result["slot"] == SLOT.isoformat()
    assert trigger_tasks.fire_schedule.run(trigger_id=trigger.pk,
                                           tick_at=SLOT.isoformat())["execution"] == \
        result["execution"]
    assert trigger_tasks.fire_schedule.run(trigger_id=10**9) == \
        {"trigger": 10**9, "status": "ignored"}


def test_beat_messages_of_the_task_are_stamped_with_their_tick():
    body = ((), {"trigger_id": 1}, {})
    beat._stamp(sender=triggers.FIRE_TASK, body=body, headers={"periodic_task_name": "x"})
    assert "tick_at" in body[1]
    by_hand = ((), {"trigger_id": 1}, {})
    beat._stamp(sender=triggers.FIRE_TASK, body=by_hand, headers={})
    assert "tick_at" not in by_hand[1]


@pytest.mark.parametrize("change", ["pause", "disable", "draft"])
def test_paused_workflows_and_disabled_triggers_do_not_fire(workflow, change):
    trigger = triggers.trigger_create(workflow=workflow, kind=Kind.SCHEDULE, config=DAILY)
    if change == "disable":
        triggers.trigger_update(trigger, enabled=False)
    else:
        Workflow.objects.filter(pk=workflow.pk).update(
            status=Workflow.Status.PAUSED if change == "pause" else Workflow.Status.DRAFT)
    assert triggers.trigger_fire_schedule(trigger.pk, SLOT) is None
    assert not Execution.objects.exists()


def test_a_workflow_that_cannot_run_skips_the_tick():
    unpublished = WorkflowFactory(status=Workflow.Status.ACTIVE)
    trigger = triggers.trigger_create(workflow=unpublished, kind=Kind.SCHEDULE, config=DAILY)
    assert triggers.trigger_fire_schedule(trigger.pk, SLOT) is None
    assert not Execution.objects.exists()


# --- event triggers --------------------------------------------------------------------------


#: Payloads as their apps send them (the test settings check them against the schemas).
RUN = {"run": 1, "definition": 1, "definition_name": "Sales", "kind": "regional_sales",
       "trigger": "schedule", "status": "succeeded", "slot": None, "row_count": 0}


def _report_done(workspace_id, **payload):
    return events.emit(REPORT_DONE, {**RUN, **payload}, workspace_id=workspace_id)


def _succeeded(workflow_id: int, execution_id: int) -> dict:
    return {"execution": execution_id, "workflow": workflow_id, "version": 1,
            "trace_id": "0" * 32, "output": None}


def test_an_event_after_commit_starts_an_execution_with_its_payload(
        workflow, django_capture_on_commit_callbacks):
    trigger = triggers.trigger_create(workflow=workflow, kind=Kind.EVENT,
                                      config={"event": REPORT_DONE})
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = _report_done(workflow.workspace_id, row_count=12)
        assert not Execution.objects.exists()  # not before the commit
    execution = Execution.objects.get()
    assert (execution.trigger_id, execution.source, execution.input) == \
        (trigger.pk, Execution.Source.EVENT, {**RUN, "row_count": 12})
    assert execution.idempotency_key == f"event:{event.id}"
    events.dispatch(event)  # the same event again (a retry): no second execution
    assert Execution.objects.count() == 1


def test_a_rolled_back_change_starts_nothing(workflow, django_capture_on_commit_callbacks):
    triggers.trigger_create(workflow=workflow, kind=Kind.EVENT, config={"event": REPORT_DONE})
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                _report_done(workflow.workspace_id)
                raise RuntimeError("the run could not be saved")
        except RuntimeError:
            pass
    assert not Execution.objects.exists()


def test_only_matching_triggers_of_the_events_workspace_fire(
        workflow, django_capture_on_commit_callbacks):
    wanted = triggers.trigger_create(workflow=workflow, kind=Kind.EVENT, config={
        "event": REPORT_DONE, "filter": {"kind": "regional_sales"}})
    triggers.trigger_create(workflow=workflow, kind=Kind.EVENT, config={
        "event": REPORT_DONE, "filter": {"kind": "stock_aging"}})
    triggers.trigger_create(workflow=workflow, kind=Kind.EVENT,
                            config={"event": "analytics.import.succeeded"})
    triggers.trigger_create(workflow=workflow, kind=Kind.EVENT, enabled=False,
                            config={"event": REPORT_DONE})
    paused = WorkflowFactory(workspace=workflow.workspace, status=Workflow.Status.PAUSED)
    WorkflowVersionFactory(workspace=paused.workspace, workflow=paused, number=1)
    triggers.trigger_create(workflow=paused, kind=Kind.EVENT, config={"event": REPORT_DONE})
    with django_capture_on_commit_callbacks(execute=True):
        _report_done(workflow.workspace_id)
        _report_done(WorkspaceFactory().pk)  # another workspace's event
    assert [e.trigger_id for e in Execution.objects.all()] == [wanted.pk]


def test_a_workflow_that_cannot_run_does_not_stop_the_others(
        workflow, django_capture_on_commit_callbacks):
    unpublished = WorkflowFactory(workspace=workflow.workspace, status=Workflow.Status.ACTIVE)
    triggers.trigger_create(workflow=unpublished, kind=Kind.EVENT,
                            config={"event": REPORT_DONE})
    runs = triggers.trigger_create(workflow=workflow, kind=Kind.EVENT,
                                   config={"event": REPORT_DONE})
    with django_capture_on_commit_callbacks(execute=True):
        _report_done(workflow.workspace_id)
    assert [e.trigger_id for e in Execution.objects.all()] == [runs.pk]


# --- webhook secrets ---------------------------------------------------------------------------


def test_a_webhook_secret_is_shown_once_stored_encrypted_and_rotated(workflow):
    trigger = triggers.trigger_create(workflow=workflow, kind=Kind.WEBHOOK)
    first = trigger.new_secret
    assert len(first) >= 32 and first not in trigger.secret_ciphertext
    assert decrypt(Trigger.objects.get().secret_ciphertext) == first
    rotated = triggers.trigger_set_secret(trigger)
    assert rotated != first and decrypt(Trigger.objects.get().secret_ciphertext) == rotated
    assert triggers.trigger_set_secret(trigger, "a-secret-i-chose-myself") == \
        "a-secret-i-chose-myself"
    with pytest.raises(ValidationError, match="16 characters"):
        triggers.trigger_set_secret(trigger, "short")
    manual = triggers.trigger_create(workflow=workflow, kind=Kind.MANUAL)
    with pytest.raises(ValidationError, match="Only webhook"):
        triggers.trigger_set_secret(manual)


def test_rotate_secrets_reencrypts_webhook_trigger_secrets(workflow, settings):
    import io

    from cryptography.fernet import Fernet
    from django.core.management import call_command

    secret = triggers.trigger_create(workflow=workflow, kind=Kind.WEBHOOK).new_secret
    new_key = Fernet.generate_key().decode()
    settings.SECRETS_ENCRYPTION_KEYS = [new_key, *settings.SECRETS_ENCRYPTION_KEYS]
    out = io.StringIO()
    call_command("rotate_secrets", stdout=out)
    assert "Re-encrypted 1 workflow webhook trigger secret(s)." in out.getvalue()
    settings.SECRETS_ENCRYPTION_KEYS = [new_key]  # the old keys are gone
    assert decrypt(Trigger.objects.get().secret_ciphertext) == secret


def test_a_workflow_is_not_restarted_by_its_own_outcome(
        workflow, django_capture_on_commit_callbacks):
    done = "workflows.execution.succeeded"
    triggers.trigger_create(workflow=workflow, kind=Kind.EVENT, config={"event": done})
    upstream = WorkflowFactory(workspace=workflow.workspace)
    with django_capture_on_commit_callbacks(execute=True):
        events.emit(done, _succeeded(workflow.pk, 1), workspace_id=workflow.workspace_id)
    assert not Execution.objects.exists()  # its own success: no loop
    with django_capture_on_commit_callbacks(execute=True):
        events.emit(done, _succeeded(upstream.pk, 2), workspace_id=workflow.workspace_id)
    assert Execution.objects.get().input == _succeeded(upstream.pk, 2)
