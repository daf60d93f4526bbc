"""Reports in the back office: schedules with their next run, run now, the report page."""

import html
import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from reports.models import ReportDefinition, ReportDelivery, ReportRun
from reports.services.runs import run_request
from tests.factories import (
    MembershipFactory,
    ReportDeliveryFactory,
    ReportRunFactory,
    UserFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.django_db
PERMS = [f"{action}_{model}" for action in ("view", "add", "change", "delete")
         for model in ("reportdefinition", "reportrun", "reportdelivery")]


def staff_member(client, workspace, role: str = "member"):
    user = UserFactory(is_staff=True)
    MembershipFactory(workspace=workspace, user=user, role=role)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="reports",
                                                         codename__in=PERMS))
    client.force_login(user)
    return user


def url(name: str, *args) -> str:
    return reverse(f"admin:reports_{name}", args=args)


@pytest.fixture
def built(definition, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = run_request(definition, trigger=ReportRun.Trigger.MANUAL)
    run.refresh_from_db()
    return run


def form(workspace, recipients, **fields) -> dict:
    return {"workspace": workspace.pk, "name": "Aging", "description": "",
            "kind": "inventory_aging", "parameters": json.dumps({"grouping": "month"}),
            "recipients": [u.pk for u in recipients], "output_csv": "on", "output_xlsx": "on",
            "schedule_cron": "0 7 * * 1", "schedule_timezone": "America/Sao_Paulo",
            "enabled": "on", "owner": "", **fields}


def test_adding_a_definition_schedules_it_and_lists_its_next_run(client, workspace,
                                                                recipients):
    me = staff_member(client, workspace)
    assert client.get(url("reportdefinition_add")).status_code == 200
    response = client.post(url("reportdefinition_add"), form(workspace, recipients))
    assert response.status_code == 302, response.context["adminform"].form.errors
    definition = ReportDefinition.objects.get(name="Aging")
    assert definition.owner == me  # the member who made it
    task = PeriodicTask.objects.get(pk=definition.periodic_task_id)
    assert task.enabled and task.crontab.day_of_week == "1"

    listing = client.get(url("reportdefinition_changelist")).content.decode()
    next_run = definition.next_run_at()
    assert next_run.strftime("%Y-%m-%d %H:%M") in listing
    assert "0 7 * * 1 (America/Sao_Paulo)" in listing

    page = client.get(url("reportdefinition_change", definition.pk)).content.decode()
    assert "No runs yet." in page and "Preview the report" in page
    changed = form(workspace, recipients, schedule_cron="", owner=me.pk)
    assert client.post(url("reportdefinition_change", definition.pk), changed).status_code == 302
    assert not PeriodicTask.objects.filter(pk=task.pk).exists()


def test_the_form_refuses_outsiders_and_bad_values(client, workspace, recipients):
    staff_member(client, workspace)
    outsider = MembershipFactory(workspace=WorkspaceFactory()).user
    response = client.post(url("reportdefinition_add"), form(
        workspace, recipients, parameters=json.dumps({"period": "soon"}),
        schedule_cron="every day", owner=outsider.pk))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert {"parameters", "schedule_cron", "owner"} <= set(errors)
    response = client.post(url("reportdefinition_add"), form(workspace, [outsider]))
    errors = response.context["adminform"].form.errors
    assert "recipients" in errors  # the picker only offers people sharing a workspace
    assert not ReportDefinition.objects.exists()


def test_run_now_builds_and_sends(client, definition, recipients,
                                  django_capture_on_commit_callbacks):
    staff_member(client, definition.workspace)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("reportdefinition_changelist"),
                               {"action": "run_now", "_selected_action": [definition.pk]})
    assert response.status_code == 302
    run = ReportRun.objects.get()
    assert run.trigger == ReportRun.Trigger.MANUAL and run.status == ReportRun.Status.SUCCEEDED
    assert "Queued" in next(str(m) for m in get_messages(response.wsgi_request))
    assert len(mail.outbox) == len(recipients)

    page = client.get(url("reportdefinition_change", definition.pk)).content.decode()
    assert f"#{run.pk}" in page and "Succeeded" in page and "2 of 2" in page


def test_viewers_cannot_run_reports_from_the_admin(client, definition):
    staff_member(client, definition.workspace, role="viewer")
    client.post(url("reportdefinition_changelist"),
                {"action": "run_now", "_selected_action": [definition.pk]})
    assert not ReportRun.objects.exists()


def test_preview_parameters_resolves_the_period(client, definition):
    staff_member(client, definition.workspace)
    definition.parameters = {"period": "previous_month", "states": ["PR"]}
    definition.save()
    response = client.post(url("reportdefinition_changelist"),
                           {"action": "preview_parameters",
                            "_selected_action": [definition.pk]})
    assert response.status_code == 200
    page = response.content.decode()
    assert "If run now" in page and "At the next run" in page and "PR" in page
    last_month_end = definition.next_run_at().date().replace(day=1) - timedelta(days=1)
    assert f"{last_month_end.replace(day=1)} to {last_month_end}" in page


def test_the_report_preview_is_built_live(client, definition):
    staff_member(client, definition.workspace)
    response = client.get(url("reportdefinition_preview", definition.pk))
    assert response.status_code == 200
    assert "Regional sales Q1 (preview)" in html.unescape(response.content.decode())
    assert ReportRun.objects.count() == 0 and mail.outbox == []


def test_the_run_page_shows_the_report_with_its_charts(client, built):
    staff_member(client, built.workspace)
    change = client.get(url("reportrun_change", built.pk)).content.decode()
    assert "View the report" in change and "Succeeded" in change
    assert "Send to a member" in change and "sales_by_state" not in change

    page = client.get(url("reportrun_report", built.pk))
    assert page.status_code == 200
    text = page.content.decode()
    assert "<iframe" in text and "sandbox" in text and "srcdoc=" in text
    # The stored page, escaped into srcdoc: its inline SVG charts come through whole.
    srcdoc = html.unescape(text.split('srcdoc="', 1)[1].split('"', 1)[0])
    assert srcdoc == built.html and srcdoc.count('class="chart-svg"') >= 2

    alone = client.get(url("reportrun_page", built.pk))
    assert alone.content.decode() == built.html
    assert "sandbox" in alone["Content-Security-Policy"]
    for name in ("csv", "xlsx"):
        download = client.get(url(f"reportrun_{name}", built.pk))
        assert download.status_code == 200 and download["Content-Disposition"].startswith(
            "attachment")

    listing = client.get(url("reportrun_changelist")).content.decode()
    assert "2 of 2" in listing and "Succeeded" in listing


def test_other_workspaces_staff_cannot_see_a_run(client, built):
    staff_member(client, WorkspaceFactory(), role="owner")
    for name in ("reportrun_report", "reportrun_page", "reportrun_csv", "reportrun_send"):
        assert client.get(url(name, built.pk)).status_code == 404, name
    assert client.get(url("reportdefinition_preview", built.definition_id)).status_code == 404


def test_send_a_run_to_a_member(client, built, django_capture_on_commit_callbacks):
    staff_member(client, built.workspace)
    newcomer = MembershipFactory(workspace=built.workspace).user
    assert client.get(url("reportrun_send", built.pk)).status_code == 200
    outsider = UserFactory()
    response = client.post(url("reportrun_send", built.pk), {"user": outsider.pk})
    assert response.status_code == 200 and response.context["form"].errors
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("reportrun_send", built.pk), {"user": newcomer.pk})
    assert response.status_code == 302
    assert mail.outbox[-1].to == [newcomer.email]
    assert ReportDelivery.objects.get(run=built, recipient=newcomer).status == "sent"


def test_resend_failed_deliveries(client, definition, django_capture_on_commit_callbacks):
    staff_member(client, definition.workspace)
    run = ReportRunFactory(definition=definition, workspace=definition.workspace)
    failed = ReportDeliveryFactory(run=run, workspace=run.workspace, status="failed",
                                   attempts=6, error="SMTPServerDisconnected: gone")
    listing = client.get(reverse("admin:reports_reportdelivery_changelist")).content.decode()
    assert "Failed" in listing and "SMTPServerDisconnected" in listing
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:reports_reportdelivery_changelist"),
                               {"action": "resend", "_selected_action": [failed.pk]})
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == "sent" and failed.attempts == 7 and failed.error == ""
    assert mail.outbox[-1].to == [failed.address]
    # The run page lists its deliveries with their state.
    assert failed.address in client.get(url("reportrun_change", run.pk)).content.decode()


def test_runs_and_deliveries_are_read_only_in_the_admin(client, built):
    staff_member(client, built.workspace, role="admin")
    assert client.get(url("reportrun_add")).status_code == 403
    assert client.post(url("reportrun_delete", built.pk)).status_code == 403
    assert client.get(reverse("admin:reports_reportdelivery_add")).status_code == 403
