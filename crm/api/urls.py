"""CRM API routes on the kernel's router."""

from core.api.routers import router

from . import analytics, calls, campaigns, contacts, leads, webhooks, workspace_settings
from . import views as v

router.register("crm/sources", v.ContactSourceViewSet)
router.register("crm/tags", v.ContactTagViewSet)
router.register("crm/contacts", v.ContactViewSet)
router.register("crm/lists", v.ContactListViewSet)
router.register("crm/list-memberships", v.ContactListMembershipViewSet)
router.register("crm/notes", v.ContactNoteViewSet)
router.register("crm/contact-events", v.ContactEventViewSet)
router.register("crm/interactions", v.ContactInteractionViewSet)
router.register("crm/customers", v.CustomerViewSet)
router.register("crm/journeys", v.ConversionJourneyViewSet)
router.register("crm/phone-numbers", v.PhoneNumberViewSet)
router.register("crm/calls", v.CallViewSet)
router.register("crm/transcripts", v.TranscriptViewSet)
router.register("crm/provider-events", v.ProviderEventViewSet)
router.register("crm/campaigns", v.CampaignViewSet)
router.register("crm/campaign-contacts", v.CampaignContactViewSet)
router.register("crm/lead-scores", v.LeadScoreViewSet)
router.register("crm/follow-ups", v.FollowUpViewSet)
router.register("crm/call-metrics", analytics.CallDailyMetricViewSet)
router.register("crm/user-kpis", analytics.UserDailyKpiViewSet)
router.register("crm/settings", workspace_settings.CrmSettingsViewSet)

# Plain views come before the router: "place" is never read as a call id.
urlpatterns = [*webhooks.urlpatterns, *calls.urlpatterns, *contacts.urlpatterns,
               *campaigns.urlpatterns, *leads.urlpatterns, *analytics.urlpatterns]
