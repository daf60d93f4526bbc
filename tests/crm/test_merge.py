"""Merging duplicate contacts keeps every related row (issue 14, "Done when")."""

import pytest

from core.api.errors import ApiError
from crm import models as m
from crm.services import contacts as services
from tests.factories import (
    CallFactory,
    CampaignContactFactory,
    CampaignFactory,
    ContactEventFactory,
    ContactFactory,
    ContactInteractionFactory,
    ContactListFactory,
    ContactListMembershipFactory,
    ContactNoteFactory,
    ContactTagFactory,
    ConversionJourneyFactory,
    CustomerFactory,
    FollowUpFactory,
    LeadScoreFactory,
    TranscriptFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.django_db


def _one_of_each(contact):
    """One row of every kind that points at a contact, by relation name.  A relation
    added to Contact without a line here fails ``test_every_relation_is_covered``."""
    ws = contact.workspace
    call = CallFactory(workspace=ws, contact=contact)
    TranscriptFactory(workspace=ws, call=call)
    other = ContactFactory(workspace=ws)
    other.merged_into = contact
    other.save()
    return {
        "notes": ContactNoteFactory(workspace=ws, contact=contact),
        "events": ContactEventFactory(workspace=ws, contact=contact),
        "interactions": ContactInteractionFactory(workspace=ws, contact=contact),
        "list_memberships": ContactListMembershipFactory(workspace=ws, contact=contact),
        "campaign_entries": CampaignContactFactory(workspace=ws, contact=contact),
        "customer": CustomerFactory(workspace=ws, contact=contact),
        "journeys": ConversionJourneyFactory(workspace=ws, contact=contact),
        "calls": call,
        "lead_scores": LeadScoreFactory(workspace=ws, contact=contact),
        "follow_ups": FollowUpFactory(workspace=ws, contact=contact),
        "merged_from": other,
    }


def _relation_names():
    names = set()
    for rel in services.contact_relations():
        names.add(rel.name if rel.concrete else rel.get_accessor_name())
    return names


def test_every_relation_is_covered():
    """Fails when a model gains a relation to Contact that this file does not make a
    row of: add it to ``_one_of_each`` (and to UNIQUE_HANDLERS if it is unique)."""
    workspace = WorkspaceFactory()
    covered = set(_one_of_each(ContactFactory(workspace=workspace))) | {"tags"}
    assert _relation_names() == covered


def test_merging_two_duplicate_contacts_keeps_every_related_row():
    workspace = WorkspaceFactory()
    keep = ContactFactory(workspace=workspace, phone="+351912000001", email="",
                          company="", not_connected=2)
    other = ContactFactory(workspace=workspace, phone="+351912000002",
                           email="rita@example.com", company="Acme", not_connected=3,
                           do_not_call=True)
    keep.tags.add(ContactTagFactory(workspace=workspace, name="vip"))
    other.tags.add(ContactTagFactory(workspace=workspace, name="lisbon"))
    rows = _one_of_each(other)
    before = {name: type(row)._base_manager.filter(pk=row.pk).count()
              for name, row in rows.items()}

    services.merge(keep=keep, other=other)

    keep.refresh_from_db()
    other.refresh_from_db()
    for name, row in rows.items():
        row.refresh_from_db()
        field = "merged_into" if name == "merged_from" else "contact"
        assert getattr(row, f"{field}_id") == keep.pk, name
        assert before[name] == 1
    assert m.Transcript.objects.filter(call__contact=keep).count() == 1
    assert set(keep.tags.values_list("name", flat=True)) == {"vip", "lisbon"}
    assert keep.email == "rita@example.com" and keep.company == "Acme"
    assert "+351912000002" in keep.alt_phones
    assert keep.not_connected == 5 and keep.do_not_call
    assert other.merged_into_id == keep.pk and other.status == m.Contact.Status.NEW
    # Nothing is left pointing at the merged contact but its own timeline entry.
    for rel in services.contact_relations():
        if not rel.concrete and rel.related_model is not m.ContactEvent:
            assert not rel.related_model._base_manager.filter(
                **{rel.field.name: other}).exists(), rel
    assert other.events.get().kind == "contact.merged"
    assert keep.events.filter(kind="contact.merged").count() == 1


def test_unique_rows_are_deduplicated_and_the_more_advanced_campaign_state_wins():
    workspace = WorkspaceFactory()
    keep, other = ContactFactory(workspace=workspace), ContactFactory(workspace=workspace)
    shared_list = ContactListFactory(workspace=workspace)
    ContactListMembershipFactory(workspace=workspace, contact=keep, contact_list=shared_list)
    ContactListMembershipFactory(workspace=workspace, contact=other, contact_list=shared_list)
    campaign = CampaignFactory(workspace=workspace)
    CampaignContactFactory(workspace=workspace, campaign=campaign, contact=keep,
                           state="pending", attempts=1)
    CampaignContactFactory(workspace=workspace, campaign=campaign, contact=other,
                           state="completed", attempts=2, last_outcome="interested")
    CustomerFactory(workspace=workspace, contact=keep, value=100)
    CustomerFactory(workspace=workspace, contact=other, value=999, currency="EUR")

    services.merge(keep=keep, other=other)

    assert m.ContactListMembership.objects.filter(contact=keep).count() == 1
    entry = m.CampaignContact.objects.get(contact=keep)
    assert (entry.state, entry.attempts, entry.last_outcome) == ("completed", 3, "interested")
    assert m.Customer.objects.get(contact=keep).value == 100
    event = keep.events.get(kind="contact.merged")
    assert event.data["customer_discarded"]["value"] == 999


def test_a_contact_is_not_merged_into_itself_or_across_workspaces():
    contact = ContactFactory()
    stranger = ContactFactory()
    with pytest.raises(ApiError) as caught:
        services.merge(keep=contact, other=contact)
    assert caught.value.status_code == 400
    with pytest.raises(ApiError) as caught:
        services.merge(keep=contact, other=stranger)
    assert caught.value.status_code == 400
    assert not m.Contact.objects.filter(merged_into__isnull=False).exists()


def test_a_merged_contact_cannot_be_merged_again():
    workspace = WorkspaceFactory()
    a, b, c = (ContactFactory(workspace=workspace) for _ in range(3))
    services.merge(keep=a, other=b)
    with pytest.raises(ApiError) as caught:
        services.merge(keep=c, other=b)
    assert caught.value.status_code == 409
