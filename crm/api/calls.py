"""POST /api/v1/crm/calls/place/: call a contact now with a voice agent.

Members of the contact's workspace (the role that may add calls); the rules are the
call service's (crm.services.calls.place_call): 402 when the plan lacks voice calls or
the credits do not cover the reservation, 409 for a do-not-call contact, a contact
without a phone or an agent without a voice platform id, 502/503 when the voice
platform does not take the call (the call is kept as failed, nothing charged)."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.models import Agent
from core import tenancy
from core.api.errors import ApiError
from core.api.schema import ErrorSerializer

from ..models import Call, Contact, PhoneNumber
from ..services import calls
from .serializers import CallSerializer


class PlaceCallSerializer(serializers.Serializer):
    contact = serializers.IntegerField(min_value=1, help_text="The contact to call.")
    agent = serializers.IntegerField(min_value=1, help_text="The voice agent calling.")
    from_number = serializers.CharField(
        required=False, allow_blank=True, max_length=40,
        help_text="A phone number id or an E.164 number of the workspace (default: one of "
                  "the agent's numbers, else any voice number).")


def _not_found(field: str, what: str) -> ApiError:
    return ApiError(404, "not_found", f"No such {what}.", errors={field: [f"No such {what}."]})


class PlaceCallView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=PlaceCallSerializer, summary="Call a contact now",
        responses={201: CallSerializer,
                   402: OpenApiResponse(ErrorSerializer, description="feature_not_in_plan or "
                                                                     "insufficient_credits"),
                   409: OpenApiResponse(ErrorSerializer,
                                        description="do_not_call, no_phone, agent_not_voice, "
                                                    "no_phone_number"),
                   502: OpenApiResponse(ErrorSerializer,
                                        description="voice_provider_error (the call is kept "
                                                    "as failed; nothing charged)"),
                   503: OpenApiResponse(ErrorSerializer,
                                        description="voice_provider_error: the voice platform "
                                                    "is not configured")},
        description="Reserves the call's credits, asks the voice platform to place the call "
                    "and answers the queued call; its status then follows the provider's "
                    "events.")
    def post(self, request):
        data = PlaceCallSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        principal = tenancy.principal_for(request)
        contact = (tenancy.visible(Contact.objects.select_related("workspace"), principal)
                   .filter(pk=data.validated_data["contact"]).first())
        if contact is None:
            raise _not_found("contact", "contact")
        if not tenancy.can_in_workspace(principal, contact.workspace, Call, "add"):
            raise ApiError(403, "permission_denied", "Your role in this workspace cannot "
                                                     "place calls.")
        agent = (Agent.objects.filter(pk=data.validated_data["agent"],
                                      workspace_id=contact.workspace_id).first())
        if agent is None:
            raise _not_found("agent", "agent in the contact's workspace")
        raw = (data.validated_data.get("from_number") or "").strip()
        from_number = None
        if raw.isdigit():
            from_number = PhoneNumber.objects.filter(pk=int(raw),
                                                     workspace_id=contact.workspace_id).first()
            if from_number is None:
                raise _not_found("from_number", "phone number in the contact's workspace")
        elif raw:
            from_number = raw
        user = request.user if getattr(request.user, "is_authenticated", False) else None
        call = calls.place_call(workspace=contact.workspace, agent=agent, contact=contact,
                                from_number=from_number, by=user)
        body = CallSerializer(call, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


urlpatterns = [path("crm/calls/place/", PlaceCallView.as_view(), name="crm-call-place")]
