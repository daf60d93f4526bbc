"""Email preferences (seed 004, ``User.receive_email``): opted-out members get no report.

A run lists whom it did not send to and why; staff may still send one run to an
opted-out member by hand, and the delivery records that they overrode the choice.
"""

from datetime import UTC, datetime

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from reports.models import ReportDelivery, ReportRun
from reports.services import deliveries, runs
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

from .test_admin import staff_member, url

pytestmark = pytest.mark.django_db
SLOT = datetime(2025, 4, 1, 7, 0, tzinfo=UTC)


@pytest.fixture
def opted_out(recipients):
    user = recipients[1]
    user.receive_email = False
    user.save(update_fields=["receive_email"])
    return user


@pytest.fixture
def scheduled(definition, opted_out, django_capture_on_commit_callbacks):
    """A scheduled run of ``definition`` (one of two recipients opted out), built and sent."""
    with django_capture_on_commit_callbacks(execute=True):
        run, _ = runs.run_create(definition, trigger=ReportRun.Trigger.SCHEDULE, slot=SLOT)
        runs.run_execute(run.pk)
    run.refresh_from_db()
    return run


def test_an_opted_out_recipient_gets_no_scheduled_report(scheduled, recipients, opted_out):
    assert scheduled.status == ReportRun.Status.SUCCEEDED
    sent_to = [address for message in mail.outbox for address in message.to]
    assert sent_to == [recipients[0].email]
    assert not ReportDelivery.objects.filter(run=scheduled, recipient=opted_out).exists()
    assert scheduled.skipped_recipients == [
        {"user": opted_out.pk, "email": opted_out.email, "reason": "opted_out"}]
    assert scheduled.delivered_to == [recipients[0].email]


def test_run_now_honours_the_preference_too(definition, opted_out,
                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.run_request(definition, trigger=ReportRun.Trigger.API)
    run.refresh_from_db()
    assert opted_out.email not in [a for message in mail.outbox for a in message.to]
    assert [entry["reason"] for entry in run.skipped_recipients] == ["opted_out"]


def test_every_skipped_recipient_is_listed_with_its_reason(definition, recipients,
                                                           django_capture_on_commit_callbacks):
    gone, silent = recipients
    gone.memberships.all().delete()  # left the workspace after being made a recipient
    silent.is_active = False
    silent.save(update_fields=["is_active"])
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.run_request(definition, trigger=ReportRun.Trigger.MANUAL)
    run.refresh_from_db()
    assert {(e["user"], e["reason"]) for e in run.skipped_recipients} == {
        (gone.pk, "not_member"), (silent.pk, "inactive")}
    assert mail.outbox == []


def test_the_run_shows_its_skipped_recipients_in_admin_and_api(client, scheduled, opted_out):
    staff_member(client, scheduled.workspace)
    page = client.get(url("reportrun_change", scheduled.pk)).content.decode()
    assert opted_out.email in page and "opted out of report emails" in page

    api = APIClient()
    api.force_login(MembershipFactory(workspace=scheduled.workspace, role="viewer").user)
    body = api.get(reverse("reports-reportrun-detail", args=[scheduled.pk])).json()
    assert body["skipped_recipients"] == [
        {"user": opted_out.pk, "email": opted_out.email, "reason": "opted_out"}]


def test_staff_send_to_an_opted_out_member_only_when_they_confirm(
        client, scheduled, opted_out, django_capture_on_commit_callbacks):
    staff = staff_member(client, scheduled.workspace)
    before = len(mail.outbox)
    refused = client.post(url("reportrun_send", scheduled.pk), {"user": opted_out.pk})
    assert refused.status_code == 200
    assert "opted out" in str(refused.context["form"].errors["override_opt_out"])
    assert len(mail.outbox) == before

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("reportrun_send", scheduled.pk),
                               {"user": opted_out.pk, "override_opt_out": "on"})
    assert response.status_code == 302
    assert mail.outbox[-1].to == [opted_out.email]
    delivery = ReportDelivery.objects.get(run=scheduled, recipient=opted_out)
    assert delivery.status == "sent" and delivery.overrode_opt_out
    assert delivery.requested_by == staff
    message = [str(m) for m in get_messages(response.wsgi_request)][-1]
    assert "opted out of report emails; sent anyway because you asked" in message
    page = client.get(url("reportrun_change", scheduled.pk)).content.decode()
    assert f"Sent by hand by {staff}" in page


def test_a_manual_send_to_someone_who_wants_email_is_no_override(scheduled, recipients):
    delivery = deliveries.run_send_to(scheduled, recipients[0], by=recipients[0],
                                      override_opt_out=True)
    assert not delivery.overrode_opt_out and delivery.requested_by == recipients[0]


def test_api_send_needs_the_override_for_an_opted_out_member(
        scheduled, opted_out, django_capture_on_commit_callbacks):
    api = APIClient()
    member = MembershipFactory(workspace=scheduled.workspace, role="member").user
    api.force_login(member)
    send = reverse("reports-reportrun-send", args=[scheduled.pk])

    refused = api.post(send, {"user": opted_out.pk}, format="json")
    assert refused.status_code == 400
    assert "override_opt_out" in refused.json()["errors"]
    stranger = MembershipFactory(workspace=WorkspaceFactory()).user
    assert api.post(send, {"user": stranger.pk}, format="json").status_code == 400

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(send, {"user": opted_out.pk, "override_opt_out": True},
                            format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["overrode_opt_out"] is True and body["requested_by"] == member.pk
    assert mail.outbox[-1].to == [opted_out.email]


def test_viewers_cannot_send_a_run_through_the_api(scheduled, recipients):
    api = APIClient()
    api.force_login(MembershipFactory(workspace=scheduled.workspace, role="viewer").user)
    response = api.post(reverse("reports-reportrun-send", args=[scheduled.pk]),
                        {"user": recipients[0].pk}, format="json")
    assert response.status_code == 403


def test_an_unknown_user_gets_a_clear_400_not_a_500(scheduled):
    api = APIClient()
    api.force_login(MembershipFactory(workspace=scheduled.workspace, role="admin").user)
    send = reverse("reports-reportrun-send", args=[scheduled.pk])
    assert api.post(send, {"user": UserFactory().pk + 1000}, format="json").status_code == 400
    assert api.post(send, {"user": "x"}, format="json").status_code == 400
