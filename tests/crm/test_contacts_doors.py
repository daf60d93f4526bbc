"""Contacts' API actions and admin pages, by role: duplicates, merge, convert, import,
the contact's timeline and the merge action; another tenant's contact is a 404."""

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from analytics.models import ImportJob
from crm import models as m
from tests.contract.isolation import make_tenant
from tests.factories import (
    CallFactory,
    ContactFactory,
    ContactNoteFactory,
    FollowUpFactory,
    LeadScoreFactory,
    MembershipFactory,
    TranscriptFactory,
    UserFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.crm.contacts_urls")]
API = "/api/v1/crm/contacts"


@pytest.fixture
def tenant():
    return make_tenant()


def _pair(workspace):
    keep = ContactFactory(workspace=workspace, phone="+351912000001", email="ana@example.com")
    other = ContactFactory(workspace=workspace, phone="+351912000099", email="ANA@Example.COM")
    return keep, other


def test_duplicates_are_found_by_phone_notation_and_email_case(tenant):
    keep, by_email = _pair(tenant.workspace)
    by_alt = ContactFactory(workspace=tenant.workspace, phone="+351913333333", email="",
                            alt_phones=["+351912000001"])
    ContactFactory(workspace=tenant.workspace, phone="+351914444444", email="x@example.com")
    response = tenant.clients["viewer"].get(f"{API}/{keep.pk}/duplicates/")
    assert response.status_code == 200, response.content
    assert sorted(c["id"] for c in response.json()) == sorted([by_email.pk, by_alt.pk])


def test_a_member_merges_a_viewer_cannot_and_another_tenant_gets_404(tenant):
    keep, other = _pair(tenant.workspace)
    CallFactory(workspace=tenant.workspace, contact=other)
    refused = tenant.clients["viewer"].post(f"{API}/{keep.pk}/merge/", {"other": other.pk},
                                            format="json")
    assert refused.status_code == 403
    stranger = make_tenant()
    assert stranger.clients["owner"].post(f"{API}/{keep.pk}/merge/", {"other": other.pk},
                                          format="json").status_code == 404
    assert stranger.clients["owner"].get(f"{API}/{keep.pk}/duplicates/").status_code == 404
    other.refresh_from_db()
    assert other.merged_into_id is None

    response = tenant.clients["member"].post(f"{API}/{keep.pk}/merge/", {"other": other.pk},
                                             format="json")
    assert response.status_code == 200, response.content
    assert m.Call.objects.get().contact_id == keep.pk
    other.refresh_from_db()
    assert other.merged_into_id == keep.pk
    itself = tenant.clients["member"].post(f"{API}/{keep.pk}/merge/", {"other": keep.pk},
                                           format="json")
    assert itself.status_code == 400 and itself.json()["code"] == "merge_into_itself"


def test_merging_another_tenants_contact_is_a_404_and_changes_nothing(tenant):
    keep = ContactFactory(workspace=tenant.workspace)
    foreign = ContactFactory()
    response = tenant.clients["owner"].post(f"{API}/{keep.pk}/merge/", {"other": foreign.pk},
                                            format="json")
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.merged_into_id is None


def test_convert_makes_a_customer_once(tenant):
    contact = ContactFactory(workspace=tenant.workspace)
    url = f"{API}/{contact.pk}/convert/"
    assert tenant.clients["viewer"].post(url, {"value": 5000}, format="json").status_code == 403
    response = tenant.clients["member"].post(url, {"value": 5000, "currency": "eur"},
                                             format="json")
    assert response.status_code == 201, response.content
    customer = m.Customer.objects.get(contact=contact)
    assert (customer.value, customer.currency) == (5000, "EUR")
    contact.refresh_from_db()
    assert contact.status == m.Contact.Status.CUSTOMER
    assert m.ConversionJourney.objects.get(contact=contact).stage == "customer"
    assert contact.events.filter(kind="contact.converted").exists()
    again = tenant.clients["member"].post(url, {"value": 1}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_customer"


def test_import_through_the_api_returns_the_job_and_runs_it(tenant,
                                                          django_capture_on_commit_callbacks):
    def upload():
        return SimpleUploadedFile("c.csv", b"first_name,phone\nAna,+351912000001\n")

    body = {"workspace": tenant.workspace.pk, "file": upload()}
    refused = tenant.clients["viewer"].post(f"{API}/import/", body, format="multipart")
    assert refused.status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = tenant.clients["member"].post(
            f"{API}/import/", {"workspace": tenant.workspace.pk, "file": upload()},
            format="multipart")
    assert response.status_code == 202, response.content
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert (job.dataset, job.status) == ("contacts", ImportJob.Status.SUCCEEDED)
    assert m.Contact.objects.filter(workspace=tenant.workspace, phone="+351912000001").exists()
    stranger = make_tenant()
    assert stranger.clients["owner"].post(
        f"{API}/import/", {"workspace": tenant.workspace.pk, "file": upload()},
        format="multipart").status_code == 404
    # The shared job API shows it, with the rows link of the contacts format.
    shown = tenant.clients["member"].get(f"/api/v1/bi/imports/{job.pk}/")
    assert shown.status_code == 200 and "/crm/contacts/" in shown.json()["rows_url"]


def _staff(workspace, role):
    user = UserFactory(is_staff=True)
    MembershipFactory(workspace=workspace, user=user, role=role)
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label__in=["crm", "analytics"]))
    client = Client()
    client.force_login(user)
    return client


def test_admin_timeline_shows_calls_transcripts_recordings_notes_scores_and_follow_ups(tenant):
    contact = ContactFactory(workspace=tenant.workspace)
    call = CallFactory(workspace=tenant.workspace, contact=contact,
                       recording_url="https://recordings.example.com/r1.mp3")
    TranscriptFactory(workspace=tenant.workspace, call=call, summary="Wants a demo")
    ContactNoteFactory(workspace=tenant.workspace, contact=contact, body="Prefers mornings")
    LeadScoreFactory(workspace=tenant.workspace, contact=contact)
    FollowUpFactory(workspace=tenant.workspace, contact=contact, note="Send pricing")
    page = _staff(tenant.workspace, "member").get(f"/admin/crm/contact/{contact.pk}/timeline/")
    assert page.status_code == 200
    for text in (b"Wants a demo", b"https://recordings.example.com/r1.mp3",
                 b"Prefers mornings", b"grade B", b"Send pricing"):
        assert text in page.content, text
    stranger = _staff(make_tenant().workspace, "admin")
    assert stranger.get(f"/admin/crm/contact/{contact.pk}/timeline/").status_code == 404


def test_admin_merge_action_merges_for_members_not_for_viewers(tenant):
    keep, other = _pair(tenant.workspace)
    action = {"action": "merge_duplicates", "_selected_action": [keep.pk]}
    _staff(tenant.workspace, "viewer").post("/admin/crm/contact/", action)
    other.refresh_from_db()
    assert other.merged_into_id is None
    _staff(tenant.workspace, "member").post("/admin/crm/contact/", action)
    other.refresh_from_db()
    assert other.merged_into_id == keep.pk


def test_admin_import_page_creates_the_job(tenant, django_capture_on_commit_callbacks):
    client = _staff(tenant.workspace, "member")
    assert b"/admin/crm/contact/import/" in client.get("/admin/crm/contact/").content
    assert client.get("/admin/crm/contact/import/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/crm/contact/import/", {
            "workspace": tenant.workspace.pk, "on_duplicate": "skip",
            "file": SimpleUploadedFile("c.csv", b"first_name,phone\nAna,12345\n")})
    assert response.status_code == 302
    job = ImportJob.objects.get(dataset="contacts")
    assert job.status == ImportJob.Status.FAILED and job.errors_preview[0][0] == 2
    assert not m.Contact.objects.filter(workspace=tenant.workspace).exists()


def test_contacts_written_through_the_crud_api_get_timeline_events(tenant):
    """With ContactWritesMixin on ContactViewSet (mounted here at a test prefix)."""
    url = "/api/v1/crm/contacts-with-timeline/"
    created = tenant.clients["member"].post(url, {
        "workspace": tenant.workspace.pk, "first_name": "Rita", "phone": "+351 912 345 678"},
        format="json")
    assert created.status_code == 201, created.content
    contact = m.Contact.objects.get(pk=created.json()["id"])
    assert contact.phone == "+351912345678"
    changed = tenant.clients["member"].patch(f"{url}{contact.pk}/", {"company": "Acme"},
                                             format="json")
    assert changed.status_code == 200, changed.content
    kinds = list(contact.events.order_by("id").values_list("kind", "data__fields"))
    assert kinds == [("contact.created", None), ("contact.updated", ["company"])]
