"""Definitions keep their beat entry in step; runs build once and send once per recipient.

Email goes to Django's locmem backend (``mail.outbox``); Celery is eager, and the
callbacks queued on commit run through ``django_capture_on_commit_callbacks``.
"""

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from email import message_from_bytes

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from reports.models import ReportDefinition, ReportDelivery, ReportRun
from reports.services import definitions, deliveries, runs
from tests.factories import (
    MembershipFactory,
    ReportDefinitionFactory,
    ReportRunFactory,
    UserFactory,
    WorkspaceFactory,
)

from .conftest import Q1_2025

pytestmark = pytest.mark.django_db
S, D = ReportRun.Status, ReportDelivery.Status
SLOT = datetime(2025, 4, 1, 7, 0, tzinfo=UTC)


def build(definition, execute, *, slot=SLOT) -> ReportRun:
    """A scheduled run of ``slot``, built, with its deliveries sent (eager tasks)."""
    with execute(execute=True):
        run, _ = runs.run_create(definition, trigger=ReportRun.Trigger.SCHEDULE, slot=slot)
        runs.run_execute(run.pk)
    run.refresh_from_db()
    return run


# --- definitions and their beat entries ------------------------------------------------------


def test_creating_a_definition_schedules_it_in_beat(workspace, recipients, owner):
    definition = definitions.definition_create(
        workspace=workspace, name="Monthly", kind="client_sales",
        parameters={"period": "previous_month"}, recipients=recipients, owner=owner,
        schedule_cron="0 7 1 * *", schedule_timezone="America/Sao_Paulo")
    task = PeriodicTask.objects.get(pk=definition.periodic_task_id)
    assert task.name == f"report-definition-{definition.pk}"
    assert task.task == "reports.tasks.generate_report"
    assert json.loads(task.kwargs) == {"definition_id": definition.pk}
    assert task.enabled and task.interval is None
    crontab = task.crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_month, crontab.month_of_year,
            crontab.day_of_week) == ("0", "7", "1", "*", "*")
    assert str(crontab.timezone) == "America/Sao_Paulo"
    # The next run is 07:00 in São Paulo (10:00 UTC) on the coming 1st.
    next_run = definition.next_run_at(datetime(2025, 3, 15, tzinfo=UTC))
    assert next_run == datetime(2025, 4, 1, 10, 0, tzinfo=UTC)
    assert set(definition.recipients.all()) == set(recipients)


def test_editing_the_schedule_updates_disables_and_removes_the_beat_entry(definition):
    task_id = definition.periodic_task_id
    definitions.definition_update(definition, schedule_cron="30 6 * * 1-5",
                                  schedule_timezone="Europe/Lisbon")
    task = PeriodicTask.objects.get(pk=task_id)
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == \
        ("30", "6", "1-5")
    # A new schedule counts from now: saving never fires a burst of "missed" runs.
    assert task.last_run_at is not None and \
        timezone.now() - task.last_run_at < timedelta(minutes=1)

    definitions.definition_update(definition, enabled=False)
    assert not PeriodicTask.objects.get(pk=task_id).enabled
    assert definition.next_run_at() is None

    definitions.definition_update(definition, schedule_cron="")
    assert not PeriodicTask.objects.filter(pk=task_id).exists()
    assert ReportDefinition.objects.get(pk=definition.pk).periodic_task_id is None


def test_deleting_a_definition_deletes_its_beat_entry(definition):
    task_id = definition.periodic_task_id
    definition.delete()
    assert not PeriodicTask.objects.filter(pk=task_id).exists()


def test_recipients_and_owner_must_be_members(workspace, recipients):
    stranger = MembershipFactory(workspace=WorkspaceFactory()).user
    with pytest.raises(ValidationError) as caught:
        definitions.definition_create(workspace=workspace, name="R", kind="client_sales",
                                      recipients=[*recipients, stranger])
    assert stranger.email in caught.value.message_dict["recipients"][0]
    with pytest.raises(ValidationError) as caught:
        definitions.definition_create(workspace=workspace, name="R", kind="client_sales",
                                      owner=stranger)
    assert "owner" in caught.value.message_dict
    assert not ReportDefinition.objects.exists()


def test_bad_parameters_and_schedules_are_refused_by_the_model(workspace):
    definition = ReportDefinition(workspace=workspace, name="R", kind="client_sales",
                                  parameters={"period": "fortnight", "top": 3},
                                  schedule_cron="0 25 * * *", schedule_timezone="Mars/Olympus")
    with pytest.raises(ValidationError) as caught:
        definition.full_clean()
    errors = caught.value.message_dict
    assert set(errors) == {"parameters", "schedule_cron", "schedule_timezone"}
    assert any("top: unknown parameter" in e for e in errors["parameters"])


# --- building a run and delivering it ----------------------------------------------------------


def test_a_run_is_built_and_sent_once_to_each_recipient(definition, recipients,
                                                        django_capture_on_commit_callbacks):
    run = build(definition, django_capture_on_commit_callbacks)
    assert run.status == S.SUCCEEDED and run.attempts == 1 and run.error == ""
    assert run.parameters["date_from"] == "2025-01-01" and run.row_count > 0
    assert 'class="chart-svg"' in run.html and "Regional sales Q1" in run.html
    assert "cid:chart-" in run.email_html and "<svg" not in run.email_html
    assert run.csv_file.name.endswith(".zip") and run.xlsx_file.name.endswith(".xlsx")

    sent = ReportDelivery.objects.filter(run=run)
    assert sorted(d.recipient_id for d in sent) == sorted(u.pk for u in recipients)
    assert {d.status for d in sent} == {D.SENT} and {d.attempts for d in sent} == {1}
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in recipients)
    assert sorted(run.delivered_to) == sorted(u.email for u in recipients)


def test_the_email_has_inline_png_charts_and_the_files_attached(definition,
                                                                django_capture_on_commit_callbacks):
    build(definition, django_capture_on_commit_callbacks)
    message = mail.outbox[0]
    assert message.subject == "Regional sales Q1 (2025-01-01 to 2025-03-31)"
    parsed = message_from_bytes(message.message().as_bytes())
    assert parsed.get_content_type() == "multipart/mixed"
    related = parsed.get_payload()[0]
    assert related.get_content_type() == "multipart/related"
    alternative, *images = related.get_payload()
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain",
                                                                         "text/html"]
    html = alternative.get_payload()[1].get_payload(decode=True).decode()
    assert images and all(i.get_content_type() == "image/png" for i in images)
    for image in images:
        content_id = image["Content-ID"].strip("<>")
        assert f'src="cid:{content_id}"' in html
        assert image.get_content_disposition() == "inline"
        assert image.get_payload(decode=True).startswith(b"\x89PNG")

    files = {p.get_filename(): p for p in parsed.get_payload()[1:]}
    assert "sales_by_state.csv" in files and files["sales_by_state.csv"].get_content_type() \
        == "text/csv"
    rows = list(csv.reader(io.StringIO(
        files["sales_by_state.csv"].get_payload(decode=True).decode())))
    assert rows[0][0] == "State" and {r[0] for r in rows[1:]} == {"PR", "SP"}
    workbook = [name for name in files if name.endswith(".xlsx")]
    assert len(workbook) == 1 and files[workbook[0]].get_payload(decode=True)[:2] == b"PK"


def test_a_name_with_a_line_break_still_makes_a_valid_subject(
        definition, django_capture_on_commit_callbacks):
    ReportDefinition.objects.filter(pk=definition.pk).update(name="Regional\nsales  Q1")
    definition.refresh_from_db()
    build(definition, django_capture_on_commit_callbacks)
    assert mail.outbox[0].subject == "Regional sales Q1 (2025-01-01 to 2025-03-31)"
    mail.outbox[0].message()  # Django refuses line breaks in headers


def test_only_the_chosen_formats_are_made_and_attached(definition,
                                                       django_capture_on_commit_callbacks):
    definitions.definition_update(definition, output_csv=False, output_xlsx=False)
    run = build(definition, django_capture_on_commit_callbacks)
    assert not run.csv_file and not run.xlsx_file
    assert all(len(m.attachments) == 0 for m in mail.outbox)


def test_a_duplicated_tick_builds_and_sends_nothing_more(definition,
                                                        django_capture_on_commit_callbacks):
    first = build(definition, django_capture_on_commit_callbacks)
    again = build(definition, django_capture_on_commit_callbacks)
    assert again.pk == first.pk
    assert ReportRun.objects.count() == 1 and again.attempts == 1
    assert ReportDelivery.objects.count() == 2 and len(mail.outbox) == 2


def test_a_run_being_built_elsewhere_is_left_alone(definition, settings):
    run, _ = runs.run_create(definition, trigger=ReportRun.Trigger.SCHEDULE, slot=SLOT)
    ReportRun.objects.filter(pk=run.pk).update(status=S.RUNNING, started_at=timezone.now(),
                                               attempts=1)
    if runs.connection.vendor != "postgresql":  # SQLite: judged by its heartbeat
        assert runs.run_claim(run.pk) is None
        ReportRun.objects.filter(pk=run.pk).update(
            updated_at=timezone.now() - timedelta(seconds=settings.REPORT_STALE_SECONDS + 1))
    # Its builder is gone (PostgreSQL: its advisory lock is free; SQLite: no heartbeat).
    claimed = runs.run_claim(run.pk)
    assert claimed is not None and claimed.attempts == 2
    runs.run_release(run.pk)


def test_a_run_whose_builds_keep_dying_fails_and_tells_the_owner(definition, owner, settings):
    run, _ = runs.run_create(definition, trigger=ReportRun.Trigger.SCHEDULE, slot=SLOT)
    ReportRun.objects.filter(pk=run.pk).update(status=S.PENDING,
                                               attempts=settings.REPORT_MAX_ATTEMPTS)
    assert runs.run_claim(run.pk) is None
    run.refresh_from_db()
    assert run.status == S.FAILED and "Gave up after 3 attempts" in run.error
    assert [m.to for m in mail.outbox] == [[owner.email]]


def test_an_empty_report_says_so_and_is_sent(definition, django_capture_on_commit_callbacks):
    definitions.definition_update(definition, parameters={"date_from": "2030-01-01"})
    run = build(definition, django_capture_on_commit_callbacks)
    assert run.status == S.SUCCEEDED and run.row_count == 0
    assert "No data for these parameters." in run.html
    assert len(mail.outbox) == 2
    assert "No data for these parameters." in mail.outbox[0].body
    assert "No data for these parameters." in mail.outbox[0].alternatives[0].content


def test_an_empty_report_is_skipped_when_the_definition_says_so(
        definition, django_capture_on_commit_callbacks):
    definitions.definition_update(definition, parameters={"states": ["AC"]},
                                  skip_when_empty=True)
    run = build(definition, django_capture_on_commit_callbacks)
    assert run.status == S.SKIPPED and run.row_count == 0
    assert "No data for these parameters." in run.html  # kept, to be seen in the admin
    assert not ReportDelivery.objects.exists() and mail.outbox == []


def test_a_failed_run_emails_the_owner_once(definition, owner, monkeypatch,
                                            django_capture_on_commit_callbacks):
    def broken(*args, **kwargs):
        raise RuntimeError("the database view is gone")

    monkeypatch.setattr(runs.kinds, "build", broken)
    run = build(definition, django_capture_on_commit_callbacks)
    assert run.status == S.FAILED and run.error.startswith("RuntimeError: the database view")
    assert run.failure_notified_at is not None
    assert not ReportDelivery.objects.exists()
    assert len(mail.outbox) == 1
    notice = mail.outbox[0]
    assert notice.to == [owner.email] and notice.subject == "Report failed: Regional sales Q1"
    assert "the database view is gone" in notice.body
    assert f"/admin/reports/reportrun/{run.pk}/change/" in notice.body
    assert runs.run_notify_failure(run) is False  # never twice
    assert len(mail.outbox) == 1


def test_without_an_owner_the_workspace_owner_is_told(definition, owner, monkeypatch,
                                                      django_capture_on_commit_callbacks):
    definitions.definition_update(definition, owner=None)
    monkeypatch.setattr(runs.kinds, "build", lambda *a: 1 / 0)
    build(definition, django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [[owner.email]]


def test_bad_stored_parameters_fail_the_run_and_tell_the_owner(
        definition, django_capture_on_commit_callbacks):
    ReportDefinition.objects.filter(pk=definition.pk).update(parameters={"top_n": "many"})
    definition.refresh_from_db()
    run = build(definition, django_capture_on_commit_callbacks)
    assert run.status == S.FAILED and run.error.startswith("Bad parameters")
    assert [m.subject for m in mail.outbox] == ["Report failed: Regional sales Q1"]


def test_recipients_who_left_the_workspace_are_not_sent_to(definition, recipients,
                                                          django_capture_on_commit_callbacks):
    leaver = recipients[0]
    leaver.memberships.all().delete()
    UserFactory()  # someone else entirely
    build(definition, django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [[recipients[1].email]]


# --- delivery failures -----------------------------------------------------------------------


def test_a_failed_delivery_is_recorded_and_sent_on_retry(definition, flaky_mail):
    run = ReportRunFactory(definition=definition, workspace=definition.workspace)
    delivery = deliveries.deliveries_create(run)[0]
    with pytest.raises(deliveries.DeliveryFailed):
        deliveries.delivery_send(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == D.FAILED and delivery.attempts == 1
    assert delivery.error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert mail.outbox == []

    assert deliveries.delivery_send(delivery.pk).status == D.SENT
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.error == "" and delivery.sent_at
    assert len(mail.outbox) == 1
    assert deliveries.delivery_send(delivery.pk) is None  # sent: never again
    assert len(mail.outbox) == 1


def test_a_delivery_being_sent_is_not_sent_again(definition):
    run = ReportRunFactory(definition=definition, workspace=definition.workspace)
    delivery = deliveries.deliveries_create(run)[0]
    ReportDelivery.objects.filter(pk=delivery.pk).update(status=D.SENDING)
    assert deliveries.delivery_send(delivery.pk) is None
    assert mail.outbox == []


def test_the_last_failed_attempt_says_it_gave_up(definition, flaky_mail):
    flaky_mail.failures = 99
    run = ReportRunFactory(definition=definition, workspace=definition.workspace)
    delivery = deliveries.deliveries_create(run)[0]
    with pytest.raises(deliveries.DeliveryFailed):
        deliveries.delivery_send(delivery.pk, final=True)
    delivery.refresh_from_db()
    assert delivery.status == D.FAILED and delivery.error.endswith("(gave up after 1 attempts)")


def test_a_run_is_sent_to_a_member_added_later_and_resent(definition, recipients,
                                                         django_capture_on_commit_callbacks):
    run = build(definition, django_capture_on_commit_callbacks)
    newcomer = MembershipFactory(workspace=definition.workspace).user
    with django_capture_on_commit_callbacks(execute=True):
        deliveries.run_send_to(run, newcomer)
        deliveries.run_send_to(run, recipients[0])  # again, on purpose
    assert sorted(m.to[0] for m in mail.outbox[2:]) == sorted([newcomer.email,
                                                               recipients[0].email])
    assert ReportDelivery.objects.filter(run=run).count() == 3
    with pytest.raises(ValidationError):
        deliveries.run_send_to(run, UserFactory())


def test_another_definition_of_the_same_name_elsewhere_is_fine(definition):
    ReportDefinitionFactory(name=definition.name)  # another workspace
    with pytest.raises(ValidationError):
        definitions.definition_create(workspace=definition.workspace, name=definition.name,
                                      kind="client_sales", parameters=Q1_2025)
