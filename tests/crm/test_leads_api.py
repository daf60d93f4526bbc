"""Lead actions through the API and the admin: score a contact now, complete or cancel
a follow-up (members; viewers 403; other tenants 404; a closed one 409)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from crm.models import ContactEvent, FollowUp, LeadScore
from crm.services import followups
from tests.contract.isolation import make_tenant
from tests.factories import CallFactory, ContactFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.crm.leads_urls")]


@pytest.fixture
def tenant():
    return make_tenant()


@pytest.fixture
def follow_up(tenant):
    contact = ContactFactory(workspace=tenant.workspace)
    return followups.create(contact, due_at=datetime.now(UTC) + timedelta(days=1))


def test_a_member_completes_a_follow_up_once(tenant, follow_up):
    url = reverse("crm-followup-complete", args=[follow_up.pk])
    response = tenant.clients["member"].post(url, {"note": "Booked a demo"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "done" and response.json()["completed_at"]
    again = tenant.clients["member"].post(url, {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "not_open"
    assert ContactEvent.objects.filter(kind="follow_up.completed").count() == 1


def test_cancel_and_who_may(tenant, follow_up):
    url = reverse("crm-followup-cancel", args=[follow_up.pk])
    assert tenant.clients["viewer"].post(url, {}, format="json").status_code == 403
    assert make_tenant().clients["owner"].post(url, {}, format="json").status_code == 404
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUp.Status.OPEN
    response = tenant.clients["member"].post(url, {}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"


def test_score_a_contact_now(tenant):
    contact = ContactFactory(workspace=tenant.workspace)
    CallFactory(workspace=tenant.workspace, contact=contact, duration_seconds=300,
                outcome="interested")
    url = reverse("crm-contact-score", args=[contact.pk])
    response = tenant.clients["member"].post(url, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["grade"] == "B" and float(response.json()["score"]) > 54
    assert tenant.clients["viewer"].post(url).status_code == 403
    assert make_tenant().clients["owner"].post(url).status_code == 404
    assert LeadScore.objects.filter(contact=contact).count() == 1


def test_a_follow_up_made_through_the_api_is_on_the_timeline(tenant):
    from crm.api.views import FollowUpViewSet

    contact = ContactFactory(workspace=tenant.workspace)
    view = FollowUpViewSet
    serializer = view.serializer_class(data={
        "workspace": tenant.workspace.pk, "contact": contact.pk,
        "due_at": "2026-07-01T10:00:00Z", "channel": "email"})
    assert serializer.is_valid(), serializer.errors
    viewset = view()
    viewset.request = None
    viewset.perform_scoped_create(serializer)
    event = ContactEvent.objects.get(contact=contact, kind="follow_up.created")
    assert event.summary == "Follow-up by email due 2026-07-01 10:00 UTC"


def test_admin_actions_complete_and_cancel(staff_client):
    contact = ContactFactory()
    due = datetime.now(UTC) + timedelta(hours=5)
    first, second = (followups.create(contact, due_at=due) for _ in range(2))
    url = reverse("admin:crm_followup_changelist")
    response = staff_client.post(url, {"action": "complete_follow_ups", "index": 0,
                                       "_selected_action": [first.pk]},
                                 format="multipart", follow=True)
    assert response.status_code == 200
    assert "Completed 1 follow-up(s)." in response.content.decode()
    response = staff_client.post(url, {"action": "cancel_follow_ups", "index": 0,
                                       "_selected_action": [first.pk, second.pk]},
                                 format="multipart", follow=True)
    page = response.content.decode()
    assert "Cancelled 1 follow-up(s)." in page and "already done" in page
    statuses = dict(FollowUp.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "done", second.pk: "cancelled"}
