"""Factories for the CRM; a contact's rows (notes, calls, campaign entries) share its
workspace."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from crm import models as m

from .agents import AgentFactory
from .workspaces import SAME_WORKSPACE, WorkspaceFactory


class ContactSourceFactory(DjangoModelFactory):
    class Meta:
        model = m.ContactSource

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Source {n}")


class ContactTagFactory(DjangoModelFactory):
    class Meta:
        model = m.ContactTag

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"tag-{n}")


class ContactFactory(DjangoModelFactory):
    class Meta:
        model = m.Contact

    workspace = factory.SubFactory(WorkspaceFactory)
    first_name = "Ana"
    last_name = factory.Sequence(lambda n: f"Silva {n}")
    phone = factory.Sequence(lambda n: f"+35191{n % 10_000_000:07d}")
    email = factory.Sequence(lambda n: f"contact{n}@example.com")
    time_zone = "Europe/Lisbon"


class ContactListFactory(DjangoModelFactory):
    class Meta:
        model = m.ContactList

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"List {n}")


class ContactListMembershipFactory(DjangoModelFactory):
    class Meta:
        model = m.ContactListMembership

    workspace = factory.SubFactory(WorkspaceFactory)
    contact_list = factory.SubFactory(ContactListFactory, workspace=SAME_WORKSPACE)
    contact = factory.SubFactory(ContactFactory, workspace=SAME_WORKSPACE)


class ContactNoteFactory(DjangoModelFactory):
    class Meta:
        model = m.ContactNote

    workspace = factory.SubFactory(WorkspaceFactory)
    contact = factory.SubFactory(ContactFactory, workspace=SAME_WORKSPACE)
    body = "Asked to be called back after lunch."


class ContactEventFactory(DjangoModelFactory):
    class Meta:
        model = m.ContactEvent

    workspace = factory.SubFactory(WorkspaceFactory)
    contact = factory.SubFactory(ContactFactory, workspace=SAME_WORKSPACE)
    occurred_at = factory.LazyFunction(timezone.now)
    kind = "note.added"
    summary = "Note added"


class ContactInteractionFactory(DjangoModelFactory):
    class Meta:
        model = m.ContactInteraction

    workspace = factory.SubFactory(WorkspaceFactory)
    contact = factory.SubFactory(ContactFactory, workspace=SAME_WORKSPACE)
    channel = m.ContactInteraction.Channel.EMAIL
    occurred_at = factory.LazyFunction(timezone.now)
    summary = "Sent the price list"


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = m.Customer

    workspace = factory.SubFactory(WorkspaceFactory)
    contact = factory.SubFactory(ContactFactory, workspace=SAME_WORKSPACE)
    converted_at = factory.LazyFunction(timezone.now)
    value = 120_000


class PhoneNumberFactory(DjangoModelFactory):
    class Meta:
        model = m.PhoneNumber

    workspace = factory.SubFactory(WorkspaceFactory)
    number = factory.Sequence(lambda n: f"+1415555{n % 10_000:04d}")
    friendly_name = factory.Sequence(lambda n: f"Sales line {n}")
    provider_sid = factory.Sequence(lambda n: f"PN{n:032d}")
    capabilities = factory.List(["voice"])


class CampaignFactory(DjangoModelFactory):
    class Meta:
        model = m.Campaign

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    agent = factory.SubFactory(AgentFactory, workspace=SAME_WORKSPACE, kind="voice")


class ConversionJourneyFactory(DjangoModelFactory):
    class Meta:
        model = m.ConversionJourney

    workspace = factory.SubFactory(WorkspaceFactory)
    contact = factory.SubFactory(ContactFactory, workspace=SAME_WORKSPACE)
    stage = m.ConversionJourney.Stage.QUALIFIED


class CampaignContactFactory(DjangoModelFactory):
    class Meta:
        model = m.CampaignContact

    workspace = factory.SubFactory(WorkspaceFactory)
    campaign = factory.SubFactory(CampaignFactory, workspace=SAME_WORKSPACE)
    contact = factory.SubFactory(ContactFactory, workspace=SAME_WORKSPACE)


class CallFactory(DjangoModelFactory):
    class Meta:
        model = m.Call

    workspace = factory.SubFactory(WorkspaceFactory)
    contact = factory.SubFactory(ContactFactory, workspace=SAME_WORKSPACE)
    from_number = "+14155550100"
    to_number = factory.SelfAttribute("contact.phone")
    status = m.Call.Status.COMPLETED
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=3))
    ended_at = factory.LazyFunction(timezone.now)
    duration_seconds = 180
    cost = Decimal("0.12")


class TranscriptFactory(DjangoModelFactory):
    class Meta:
        model = m.Transcript

    workspace = factory.SubFactory(WorkspaceFactory)
    call = factory.SubFactory(CallFactory, workspace=SAME_WORKSPACE)
    language = "en"
    turns = factory.List([factory.Dict({"speaker": "agent", "text": "Hello!", "start": 0.4})])


class ProviderEventFactory(DjangoModelFactory):
    class Meta:
        model = m.ProviderEvent

    provider = m.ProviderEvent.Provider.TWILIO
    event_id = factory.Sequence(lambda n: f"CA{n:032d}:completed")
    event_type = "call.completed"


class LeadScoreFactory(DjangoModelFactory):
    class Meta:
        model = m.LeadScore

    workspace = factory.SubFactory(WorkspaceFactory)
    contact = factory.SubFactory(ContactFactory, workspace=SAME_WORKSPACE)
    computed_at = factory.LazyFunction(timezone.now)
    score = Decimal("72.50")
    grade = m.LeadScore.Grade.B


class FollowUpFactory(DjangoModelFactory):
    class Meta:
        model = m.FollowUp

    workspace = factory.SubFactory(WorkspaceFactory)
    contact = factory.SubFactory(ContactFactory, workspace=SAME_WORKSPACE)
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
