"""Serializers of the CRM: every field of each model, relations by id; rows the CRM's
services write (timeline events, scores, provider events) are read-only resources."""

from core.api.serializers import BaseModelSerializer

from .. import models as m


def _serializer(model, read_only=()):
    meta = type("Meta", (), {"model": model, "fields": "__all__",
                             "read_only_fields": ["created_at", "updated_at", *read_only]})
    return type(f"{model.__name__}Serializer", (BaseModelSerializer,), {"Meta": meta})


ContactSourceSerializer = _serializer(m.ContactSource)
ContactTagSerializer = _serializer(m.ContactTag)
ContactSerializer = _serializer(m.Contact, read_only=("merged_into",))
ContactListSerializer = _serializer(m.ContactList)
ContactListMembershipSerializer = _serializer(m.ContactListMembership)
ContactNoteSerializer = _serializer(m.ContactNote)
ContactEventSerializer = _serializer(m.ContactEvent)
ContactInteractionSerializer = _serializer(m.ContactInteraction)
CustomerSerializer = _serializer(m.Customer)
ConversionJourneySerializer = _serializer(m.ConversionJourney)
PhoneNumberSerializer = _serializer(m.PhoneNumber)
CallSerializer = _serializer(m.Call)
TranscriptSerializer = _serializer(m.Transcript)
ProviderEventSerializer = _serializer(m.ProviderEvent)
CampaignSerializer = _serializer(m.Campaign)
CampaignContactSerializer = _serializer(m.CampaignContact)
LeadScoreSerializer = _serializer(m.LeadScore)
FollowUpSerializer = _serializer(m.FollowUp, read_only=("reminded_at",))
