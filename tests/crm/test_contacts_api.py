"""Contacts through the API: phone numbers normalised to E.164, bad input refused by field."""

import pytest
from django.urls import reverse

from crm.models import Contact
from tests.contract.isolation import make_tenant
from tests.factories import AgentFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant():
    return make_tenant()


def test_a_phone_number_written_any_common_way_is_stored_in_e164(tenant):
    response = tenant.clients["member"].post(reverse("crm-contact-list"), {
        "workspace": tenant.workspace.pk, "first_name": "Rita",
        "phone": "+351 912-345 678", "time_zone": "Europe/Lisbon"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["phone"] == "+351912345678"
    assert Contact.objects.get(pk=response.json()["id"]).phone == "+351912345678"


@pytest.mark.parametrize("phone", ["12345", "+1 555 0100 99999", "call me"])
def test_a_number_that_is_not_one_is_refused_and_nothing_is_saved(tenant, phone):
    response = tenant.clients["member"].post(reverse("crm-contact-list"), {
        "workspace": tenant.workspace.pk, "first_name": "Rui", "phone": phone}, format="json")
    assert response.status_code == 400
    assert "phone" in response.json()["errors"]
    assert not Contact.objects.filter(first_name="Rui").exists()


def test_a_contact_needs_a_phone_or_an_email_and_a_real_time_zone(tenant):
    client = tenant.clients["member"]
    response = client.post(reverse("crm-contact-list"), {
        "workspace": tenant.workspace.pk, "first_name": "Nobody"}, format="json")
    assert response.status_code == 400
    response = client.post(reverse("crm-contact-list"), {
        "workspace": tenant.workspace.pk, "email": "a@example.com",
        "time_zone": "Mars/Olympus"}, format="json")
    assert response.status_code == 400 and "time_zone" in response.json()["errors"]


def test_calling_hours_must_end_after_they_start(tenant):
    agent = AgentFactory(workspace=tenant.workspace, kind="voice")
    response = tenant.clients["member"].post(reverse("crm-campaign-list"), {
        "workspace": tenant.workspace.pk, "name": "Night owls", "agent": agent.pk,
        "calling_hours_start": "20:00", "calling_hours_end": "08:00"}, format="json")
    assert response.status_code == 400
    assert "calling_hours_end" in response.json()["errors"]


def test_the_admin_normalises_numbers_too(staff_client):
    contact = ContactFactory()
    url = reverse("admin:crm_contact_change", args=[contact.pk])
    page = staff_client.get(url)
    assert page.status_code == 200
    data = {"workspace": contact.workspace_id, "first_name": contact.first_name,
            "last_name": contact.last_name, "phone": "+1 (415) 555-0123",
            "email": contact.email, "time_zone": "America/New_York", "status": "new",
            "alt_phones": "[]", "custom_fields": "{}", "metadata": "{}",
            "notes-TOTAL_FORMS": "0", "notes-INITIAL_FORMS": "0"}
    response = staff_client.post(url, data, format="multipart")
    assert response.status_code == 302, response.context["adminform"].form.errors
    contact.refresh_from_db()
    assert contact.phone == "+14155550123"
