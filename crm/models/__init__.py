from .campaigns import Campaign, CampaignContact  # noqa: F401
from .contacts import (  # noqa: F401
    Contact,
    ContactEvent,
    ContactInteraction,
    ContactList,
    ContactListMembership,
    ContactNote,
    ContactSource,
    ContactTag,
    ConversionJourney,
    Customer,
)
from .leads import FollowUp, LeadScore  # noqa: F401
from .rollups import CallDailyMetric, UserDailyKpi  # noqa: F401
from .voice import Call, PhoneNumber, ProviderEvent, Transcript  # noqa: F401
from .workspace_settings import CrmSettings  # noqa: F401
