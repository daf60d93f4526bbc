"""The Celery tasks, eagerly: a beat tick maps to its slot once, failed sends retry with backoff.

The same tasks running in a real worker from a real beat are in test_beat_worker.py.
"""

from datetime import UTC, datetime, timedelta

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.db import connection
from django.utils import timezone

from reports import signals
from reports.models import ReportDelivery, ReportRun
from reports.services import definitions, deliveries, runs
from reports.tasks import generate_report, reap_reports, send_delivery
from tests.factories import ReportRunFactory

pytestmark = pytest.mark.django_db
S, D = ReportRun.Status, ReportDelivery.Status


def tick(definition, execute, when: str):
    """What a beat tick sent at ``when`` does in a worker (eager, callbacks on commit run)."""
    with execute(execute=True):
        return generate_report.delay(definition_id=definition.pk, tick_at=when).get()


def test_a_tick_builds_the_run_of_its_slot(definition, django_capture_on_commit_callbacks):
    result = tick(definition, django_capture_on_commit_callbacks, "2025-04-01T07:00:00.412+00:00")
    run = ReportRun.objects.get()
    assert result == {"run": run.pk, "status": "succeeded", "slot": "2025-04-01T07:00:00+00:00"}
    assert run.trigger == ReportRun.Trigger.SCHEDULE
    assert run.slot == datetime(2025, 4, 1, 7, 0, tzinfo=UTC)
    assert ReportDelivery.objects.filter(run=run, status=D.SENT).count() == 2
    assert len(mail.outbox) == 2


def test_duplicated_and_late_ticks_of_one_slot_create_nothing_more(
        definition, django_capture_on_commit_callbacks):
    execute = django_capture_on_commit_callbacks
    tick(definition, execute, "2025-04-01T07:00:00.100+00:00")
    tick(definition, execute, "2025-04-01T07:00:04.900+00:00")  # a second beat, 5 s later
    tick(definition, execute, "2025-04-02T03:00:00+00:00")  # redelivered the next night
    assert ReportRun.objects.count() == 1
    assert ReportDelivery.objects.count() == 2 and len(mail.outbox) == 2
    # The next slot is a new run.
    tick(definition, execute, "2025-05-01T07:00:01+00:00")
    assert ReportRun.objects.count() == 2 and len(mail.outbox) == 4


def test_the_slot_follows_the_definition_time_zone(definition,
                                                   django_capture_on_commit_callbacks):
    definitions.definition_update(definition, schedule_timezone="America/Sao_Paulo")
    tick(definition, django_capture_on_commit_callbacks, "2025-04-01T10:00:02+00:00")
    assert ReportRun.objects.get().slot == datetime(2025, 4, 1, 10, 0, tzinfo=UTC)


def test_a_tick_without_a_send_time_uses_now(definition, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        generate_report.delay(definition_id=definition.pk)
    run = ReportRun.objects.get()
    assert run.slot == runs.previous_fire(definition.cron(), timezone.now())


def test_ticks_of_unscheduled_disabled_or_deleted_definitions_are_ignored(definition):
    definitions.definition_update(definition, enabled=False)
    assert generate_report.delay(definition_id=definition.pk).get()["status"] == "ignored"
    definitions.definition_update(definition, enabled=True, schedule_cron="")
    assert generate_report.delay(definition_id=definition.pk).get()["status"] == "ignored"
    assert generate_report.delay(definition_id=987654).get()["status"] == "ignored"
    assert not ReportRun.objects.exists()


def test_a_missed_slot_can_be_built_by_hand(definition, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = generate_report.delay(definition_id=definition.pk,
                                       slot="2025-02-01T07:00:00+00:00").get()
        again = generate_report.delay(definition_id=definition.pk,
                                      slot="2025-02-01T07:00:00+00:00").get()
    assert result["status"] == again["status"] == "succeeded" and result["run"] == again["run"]
    assert len(mail.outbox) == 2


def test_run_now_builds_a_new_run_each_time(definition, owner,
                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = runs.run_request(definition, trigger=ReportRun.Trigger.MANUAL, by=owner)
        second = runs.run_request(definition, trigger=ReportRun.Trigger.MANUAL, by=owner)
    assert first.pk != second.pk and first.slot is None
    assert set(ReportRun.objects.values_list("status", flat=True)) == {S.SUCCEEDED}
    assert len(mail.outbox) == 4
    # Its message delivered twice: the finished run is not built or sent again.
    with django_capture_on_commit_callbacks(execute=True):
        generate_report.delay(definition_id=definition.pk, run_id=first.pk)
    assert len(mail.outbox) == 4 and ReportRun.objects.get(pk=first.pk).attempts == 1


def test_the_beat_message_is_stamped_with_its_send_time():
    body = ((), {"definition_id": 7}, {})
    signals._stamp_beat_tick(sender=signals.GENERATE_TASK, body=body,
                             headers={"periodic_task_name": "report-definition-7"})
    stamped = datetime.fromisoformat(body[1]["tick_at"])
    assert abs(stamped - timezone.now()) < timedelta(seconds=5)
    # Not beat's, or not ours: untouched.
    for sender, headers in [(signals.GENERATE_TASK, {}),
                            ("core.tasks.prune_audit_entries", {"periodic_task_name": "x"})]:
        other = ((), {"definition_id": 7}, {})
        signals._stamp_beat_tick(sender=sender, body=other, headers=headers)
        assert "tick_at" not in other[1]


# --- sending ------------------------------------------------------------------------------------


def test_a_failed_send_retries_with_backoff_and_stays_visible(definition, flaky_mail,
                                                              settings):
    run = ReportRunFactory(definition=definition, workspace=definition.workspace)
    delivery = deliveries.deliveries_create(run)[0]
    assert send_delivery.max_retries == settings.REPORT_DELIVERY_MAX_RETRIES
    with pytest.raises(Retry) as retried:
        send_delivery.apply(args=[delivery.pk])
    assert 0 <= retried.value.when <= settings.REPORT_DELIVERY_BACKOFF  # jittered backoff
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (D.FAILED, 1)
    assert "SMTPServerDisconnected" in delivery.error

    # The retry (what the broker brings back after the countdown) sends it.
    result = send_delivery.apply(args=[delivery.pk], retries=1).get()
    assert result == {"delivery": delivery.pk, "status": "sent"}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == (D.SENT, 2, "")
    assert len(mail.outbox) == 1


def test_backoff_grows_and_the_last_retry_gives_up(definition, flaky_mail, settings):
    flaky_mail.failures = 99
    run = ReportRunFactory(definition=definition, workspace=definition.workspace)
    delivery = deliveries.deliveries_create(run)[0]
    with pytest.raises(Retry) as retried:
        send_delivery.apply(args=[delivery.pk], retries=3)
    assert retried.value.when <= settings.REPORT_DELIVERY_BACKOFF * 2 ** 3
    with pytest.raises(deliveries.DeliveryFailed):
        send_delivery.apply(args=[delivery.pk], retries=settings.REPORT_DELIVERY_MAX_RETRIES)
    delivery.refresh_from_db()
    assert delivery.status == D.FAILED and "gave up after 2 attempts" in delivery.error


def test_the_reaper_queues_what_a_lost_message_left(definition, settings,
                                                    django_capture_on_commit_callbacks):
    long_ago = timezone.now() - timedelta(minutes=settings.REPORT_REQUEUE_MINUTES + 1)
    lost_run, _ = runs.run_create(definition, trigger=ReportRun.Trigger.MANUAL)
    built = ReportRunFactory(definition=definition, workspace=definition.workspace)
    lost_delivery = deliveries.deliveries_create(built)[0]
    ReportRun.objects.filter(pk=lost_run.pk).update(updated_at=long_ago)
    ReportDelivery.objects.filter(pk=lost_delivery.pk).update(updated_at=long_ago)
    fresh, _ = runs.run_create(definition, trigger=ReportRun.Trigger.MANUAL)  # just queued

    with django_capture_on_commit_callbacks(execute=True):
        assert reap_reports.delay().get() == {"runs": 1, "deliveries": 1}
    assert ReportRun.objects.get(pk=lost_run.pk).status == S.SUCCEEDED
    assert ReportRun.objects.get(pk=fresh.pk).status == S.PENDING
    assert ReportDelivery.objects.get(pk=lost_delivery.pk).status == D.SENT
    # lost_run's two deliveries and the lost one.
    assert len(mail.outbox) == 3


@pytest.mark.postgres
def test_a_run_locked_by_a_live_builder_is_left_alone(definition):
    """PostgreSQL: another session holds the run's advisory lock, so a duplicate skips it."""
    import psycopg

    run, _ = runs.run_create(definition, trigger=ReportRun.Trigger.MANUAL)
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [runs.LOCK_KEY, run.pk])
        assert runs.run_execute(run.pk).status == S.PENDING
        other.execute("SELECT pg_advisory_unlock(%s, %s)", [runs.LOCK_KEY, run.pk])
    assert runs.run_execute(run.pk).status == S.SUCCEEDED
