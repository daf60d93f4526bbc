"""Campaign API actions: start, pause, resume, cancel, dial one tick now, progress.

Thin over ``crm.services.campaigns`` and ``crm.dialer``: every rule and refusal comes
from there, the same as in the admin and the beat task.  A campaign out of the
caller's reach answers 404; acting needs change (members and up; viewers 403),
progress needs view.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core import tenancy
from core.api.errors import ApiError
from core.api.permissions import TenantPermission
from core.api.schema import ErrorSerializer
from core.context import request_user

from .. import dialer
from ..models import Campaign
from ..services import campaigns as services
from .serializers import CampaignSerializer


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


def _campaign(request, pk: int, action: str = "view") -> Campaign:
    """The campaign ``pk`` if the caller may see it (else 404) and ``action`` it (else 403)."""
    principal = tenancy.principal_for(request)
    campaign = (tenancy.visible(Campaign.objects.select_related("agent"), principal)
                .filter(pk=pk).first())
    if campaign is None:
        raise ApiError(404, "not_found", f"No campaign with id {pk} of yours.")
    if action != "view" and not tenancy.can(principal, campaign, action):
        raise ApiError(403, "permission_denied",
                       "Your role in this workspace may read campaigns, not run them.")
    return campaign


_ACTIONS = {
    "start": (services.campaign_start, "Start the campaign",
              "Draft → running (scheduled while `starts_at` is ahead).  Enrolls every "
              "contact of its lists (do-not-call and phoneless ones as skipped).  Needs a "
              "voice agent with a voice platform id and an active number in the pool."),
    "pause": (services.campaign_pause, "Pause the campaign",
              "Running or scheduled → paused: no new calls; calls in progress finish."),
    "resume": (services.campaign_resume, "Resume the campaign",
               "Paused → running (contacts added to its lists meanwhile are enrolled); "
               "clears the reason it was paused for (e.g. credits ran out)."),
    "cancel": (services.campaign_cancel, "Cancel the campaign",
               "Stops for good; calls in progress finish and are recorded."),
}


def _action_view(name: str):
    service, summary, description = _ACTIONS[name]

    class CampaignActionView(APIView):
        permission_classes = [TenantPermission]
        queryset = Campaign.objects.all()  # the resource the path's id names

        @extend_schema(
            operation_id=f"crm_campaigns_{name}", tags=["crm"], summary=summary,
            description=description, request=None,
            responses={200: CampaignSerializer,
                       400: _error("campaign_not_ready: the agent is not a voice agent with "
                                   "a voice platform id, or the pool has no active number."),
                       403: _error("Your role may not run campaigns (viewers)."),
                       404: _error("No such campaign of yours."),
                       409: _error("invalid_state: not possible in the campaign's state.")})
        def post(self, request, pk: int):
            campaign = _campaign(request, pk, "change")
            campaign = service(campaign, by=request_user(request))
            return Response(CampaignSerializer(campaign, context={"request": request}).data)

    CampaignActionView.__name__ = f"Campaign{name.title()}View"
    CampaignActionView.__qualname__ = CampaignActionView.__name__
    return CampaignActionView


DialResultSerializer = inline_serializer("CampaignDialResult", {
    "campaign": serializers.IntegerField(),
    "status": serializers.CharField(),
    "locked": serializers.BooleanField(help_text="Another tick was running: nothing done."),
    "claimed": serializers.IntegerField(),
    "placed": serializers.ListField(child=serializers.IntegerField(),
                                    help_text="Ids of the calls placed."),
    "refused": serializers.DictField(child=serializers.IntegerField(),
                                     help_text="Refusals by error code."),
    "skipped": serializers.IntegerField(help_text="Do-not-call contacts skipped."),
    "in_progress": serializers.IntegerField(),
    "free": serializers.IntegerField(),
    "paused_reason": serializers.CharField()})

ProgressSerializer = inline_serializer("CampaignProgress", {
    "campaign": serializers.IntegerField(),
    "status": serializers.CharField(),
    "paused_reason": serializers.CharField(),
    "contacts": serializers.DictField(child=serializers.IntegerField(),
                                      help_text="Entries by state."),
    "total": serializers.IntegerField(),
    "calls_in_progress": serializers.IntegerField(),
    "placed_last_minute": serializers.IntegerField(),
    "credits_held": serializers.CharField(help_text="Credits reserved by unfinished calls."),
    "at": serializers.DateTimeField()})


class CampaignDialView(APIView):
    permission_classes = [TenantPermission]
    queryset = Campaign.objects.all()  # the resource the path's id names

    @extend_schema(
        operation_id="crm_campaigns_dial", tags=["crm"], summary="Run one dialer tick now",
        description="What beat does every minute: calls the due contacts in their calling "
                    "hours, within the campaign's concurrency and rate.  Running out of "
                    "credits pauses the campaign (its reason in `paused_reason`).",
        request=None,
        responses={200: DialResultSerializer,
                   403: _error("Your role may not run campaigns (viewers)."),
                   404: _error("No such campaign of yours.")})
    def post(self, request, pk: int):
        campaign = _campaign(request, pk, "change")
        return Response(dialer.dial(campaign.pk).as_dict())


class CampaignProgressView(APIView):
    permission_classes = [TenantPermission]
    queryset = Campaign.objects.all()  # the resource the path's id names

    @extend_schema(
        operation_id="crm_campaigns_progress", tags=["crm"], summary="Campaign progress",
        description="Entries by state, calls in progress, calls placed in the last minute "
                    "and credits held by unfinished calls, live.",
        responses={200: ProgressSerializer, 404: _error("No such campaign of yours.")})
    def get(self, request, pk: int):
        return Response(services.progress(_campaign(request, pk)))


urlpatterns = [
    *[path(f"crm/campaigns/<int:pk>/{name}/", _action_view(name).as_view(),
           name=f"crm-campaign-{name}") for name in _ACTIONS],
    path("crm/campaigns/<int:pk>/dial/", CampaignDialView.as_view(), name="crm-campaign-dial"),
    path("crm/campaigns/<int:pk>/progress/", CampaignProgressView.as_view(),
         name="crm-campaign-progress"),
]
