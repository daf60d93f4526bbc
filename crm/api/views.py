"""CRM API: contacts and everything about them, phone numbers, calls and transcripts,
campaigns and their contacts, lead scores (read) and follow-ups.  Scoped like every
workspace resource; provider events are staff-only (model permissions)."""

from core.api.permissions import ModelPermissions
from core.api.viewsets import ReadOnlyModelViewSet, ScopedModelViewSet, ScopedReadOnlyModelViewSet

from .. import models as m
from . import serializers as s
from .contacts import ContactWritesMixin
from .leads import FollowUpWritesMixin


def _scoped(model, serializer, doc, base=ScopedModelViewSet):
    return type(f"{model.__name__}ViewSet", (base,), {
        "__doc__": doc, "queryset": model.objects.all(), "serializer_class": serializer})


ContactSourceViewSet = _scoped(m.ContactSource, s.ContactSourceSerializer,
                               "Where contacts come from.")
ContactTagViewSet = _scoped(m.ContactTag, s.ContactTagSerializer, "Tags for contacts.")
class _ContactBase(ContactWritesMixin, ScopedModelViewSet):
    """Contacts written through the CRUD API leave their timeline entries too."""


ContactViewSet = _scoped(m.Contact, s.ContactSerializer,
                         "Contacts: phone numbers in E.164 (any common notation is accepted "
                         "and normalised), do-not-call flag, failed connections, custom "
                         "fields.", base=_ContactBase)
ContactListViewSet = _scoped(m.ContactList, s.ContactListSerializer, "Contact lists.")
ContactListMembershipViewSet = _scoped(m.ContactListMembership,
                                       s.ContactListMembershipSerializer,
                                       "Which contacts are in which list.")
ContactNoteViewSet = _scoped(m.ContactNote, s.ContactNoteSerializer, "Notes on contacts.")
ContactEventViewSet = _scoped(m.ContactEvent, s.ContactEventSerializer,
                              "A contact's timeline (append-only, written by the CRM).",
                              base=ScopedReadOnlyModelViewSet)
ContactInteractionViewSet = _scoped(m.ContactInteraction, s.ContactInteractionSerializer,
                                    "Logged touch points: meetings, emails, messages.")
CustomerViewSet = _scoped(m.Customer, s.CustomerSerializer,
                          "Converted contacts with their value.")
ConversionJourneyViewSet = _scoped(m.ConversionJourney, s.ConversionJourneySerializer,
                                   "Contacts' stages from lead to customer.")
PhoneNumberViewSet = _scoped(m.PhoneNumber, s.PhoneNumberSerializer,
                             "The workspace's phone numbers (admins manage them).")
CallViewSet = _scoped(m.Call, s.CallSerializer, "Phone calls placed or received.")
TranscriptViewSet = _scoped(m.Transcript, s.TranscriptSerializer,
                            "Call transcripts, turn by turn, with their analysis.")
CampaignViewSet = _scoped(m.Campaign, s.CampaignSerializer,
                          "Outbound calling campaigns: agent, numbers, lists, calling hours "
                          "in the contact's time zone, attempts, concurrency and rate.")
CampaignContactViewSet = _scoped(m.CampaignContact, s.CampaignContactSerializer,
                                 "Each contact's state in a campaign.")
LeadScoreViewSet = _scoped(m.LeadScore, s.LeadScoreSerializer,
                           "Lead score history (append-only; the latest is current).",
                           base=ScopedReadOnlyModelViewSet)
class _FollowUpBase(FollowUpWritesMixin, ScopedModelViewSet):
    """Follow-ups made through the CRUD API leave their timeline entry too."""


FollowUpViewSet = _scoped(m.FollowUp, s.FollowUpSerializer,
                          "Follow-ups: due date, channel, assignee, status.",
                          base=_FollowUpBase)


class ProviderEventViewSet(ReadOnlyModelViewSet):
    """Voice and telephony provider webhook events as received (staff)."""

    queryset = m.ProviderEvent.objects.all()
    serializer_class = s.ProviderEventSerializer
    permission_classes = [ModelPermissions]
