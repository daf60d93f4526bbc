"""Contact services: numbers normalised on the way in, duplicates by any notation of a
number or any case of an email, groups of duplicates, conversion and the timeline."""

import pytest
from django.core.exceptions import ValidationError

from core import events
from core.api.errors import ApiError
from crm import models as m
from crm.services import contacts as services
from crm.services import timeline
from tests.factories import CallFactory, ContactFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def test_numbers_in_any_notation_are_stored_in_e164_and_found_as_duplicates():
    workspace = WorkspaceFactory()
    first = services.contact_create(workspace=workspace, first_name="Ana",
                                    phone="+351 912-345-678")
    national = services.contact_create(workspace=workspace, first_name="Ana B",
                                       phone="912 345 678", region="PT")
    dialled = services.contact_create(workspace=workspace, first_name="Ana C",
                                      phone="00351912345678", region="PT")
    assert first.phone == national.phone == dialled.phone == "+351912345678"
    assert set(services.duplicates(first)) == {national, dialled}
    assert first.events.get().kind == "contact.created"


def test_email_case_and_alternative_numbers_make_duplicates_within_the_workspace_only():
    workspace = WorkspaceFactory()
    ana = ContactFactory(workspace=workspace, phone="+351912000001", email="Ana@Example.com")
    by_email = ContactFactory(workspace=workspace, phone="", email="ana@EXAMPLE.com")
    by_alt = ContactFactory(workspace=workspace, phone="+351913000000", email="",
                            alt_phones=["+351912000001"])
    ContactFactory(phone="+351912000001", email="ana@example.com")  # another workspace
    merged = ContactFactory(workspace=workspace, phone="+351912000001", email="")
    merged.merged_into = by_alt
    merged.save()
    assert set(services.duplicates(ana)) == {by_email, by_alt}


def test_duplicate_groups_join_contacts_through_shared_numbers_and_emails():
    workspace = WorkspaceFactory()
    a = ContactFactory(workspace=workspace, phone="+351912000001", email="a@x.com")
    b = ContactFactory(workspace=workspace, phone="+351912000001", email="b@x.com")
    c = ContactFactory(workspace=workspace, phone="+351912000003", email="B@X.com")
    d = ContactFactory(workspace=workspace, phone="+351912000004", email="d@x.com")
    e = ContactFactory(workspace=workspace, phone="+351912000005", email="",
                       alt_phones=["+351912000004"])
    ContactFactory(workspace=workspace, phone="+351912000009", email="alone@x.com")
    groups = services.duplicate_groups(workspace)
    assert [[x.pk for x in g] for g in groups] == [[a.pk, b.pk, c.pk], [d.pk, e.pk]]


def test_create_and_update_refuse_bad_numbers_and_write_nothing():
    workspace = WorkspaceFactory()
    with pytest.raises(ValidationError) as caught:
        services.contact_create(workspace=workspace, first_name="X", phone="12345")
    assert "phone" in caught.value.message_dict
    with pytest.raises(ValidationError):
        services.contact_create(workspace=workspace, first_name="Nobody")
    assert not m.Contact.objects.exists()
    contact = services.contact_create(workspace=workspace, phone="+351912000001",
                                      tags=["vip"])
    services.contact_update(contact, company="Acme", alt_phones=["+351 913 000 000"])
    contact.refresh_from_db()
    assert contact.alt_phones == ["+351913000000"]
    assert contact.events.filter(kind="contact.updated").get().data["fields"] == [
        "company", "alt_phones"]


def test_convert_makes_the_customer_the_journey_stage_and_the_event(
        django_capture_on_commit_callbacks):
    contact = ContactFactory()
    if not events.is_registered(services.DOMAIN_CONVERTED):  # crm/events.py, once wired
        events.register(services.DOMAIN_CONVERTED, version=1)
    seen = []
    events.subscribe(seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            customer = services.convert(contact, value=25_000, currency="eur")
    finally:
        events.unsubscribe(seen.append)
    contact.refresh_from_db()
    assert (customer.value, customer.currency) == (25_000, "EUR")
    assert contact.status == m.Contact.Status.CUSTOMER
    journey = m.ConversionJourney.objects.get(contact=contact)
    assert journey.stage == "customer" and "customer" in journey.stages
    event = contact.events.get(kind="contact.converted")
    assert (event.source_type, event.source_id) == ("crm.customer", str(customer.pk))
    announced = [e for e in seen if e.name == services.DOMAIN_CONVERTED]
    assert [e.payload["customer"] for e in announced] == [customer.pk]
    with pytest.raises(ApiError) as caught:
        services.convert(contact, value=1)
    assert caught.value.status_code == 409
    assert m.Customer.objects.count() == 1


def test_timeline_record_points_at_its_source_row():
    call = CallFactory()
    event = timeline.record(call.contact, "call.completed", "Call completed", source=call,
                            data={"duration": 180})
    assert (event.source_type, event.source_id) == ("crm.call", str(call.pk))
    assert event.workspace_id == call.contact.workspace_id and event.occurred_at
