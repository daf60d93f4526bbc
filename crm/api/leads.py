"""Lead API actions: score a contact now, complete or cancel a follow-up.

Thin over ``crm.services.scoring`` and ``crm.services.followups``.  A row out of the
caller's reach answers 404; the actions need the role that changes it (members and up;
viewers get 403).  ``FollowUpWritesMixin`` makes follow-ups created through the CRUD
API leave ``follow_up.created`` on the contact's timeline, as the service does.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core import tenancy
from core.api.errors import ApiError
from core.api.permissions import TenantPermission
from core.api.schema import ErrorSerializer
from core.context import request_user

from .. import models as m
from ..services import followups, scoring, timeline
from .contacts import _contact
from .serializers import FollowUpSerializer, LeadScoreSerializer


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


def _follow_up(request, pk: int) -> m.FollowUp:
    principal = tenancy.principal_for(request)
    follow_up = tenancy.visible(m.FollowUp.objects.all(), principal).filter(pk=pk).first()
    if follow_up is None:
        raise ApiError(404, "not_found", f"No follow-up with id {pk} of yours.")
    if not tenancy.can(principal, follow_up, "change"):
        raise ApiError(403, "permission_denied",
                       "Your role in this workspace may read follow-ups, not change them.")
    return follow_up


class FollowUpWritesMixin:
    """For ``FollowUpViewSet`` (in front of ``ScopedModelViewSet``)."""

    def perform_scoped_create(self, serializer):
        follow_up = serializer.save()
        timeline.record(follow_up.contact, "follow_up.created",
                        f"Follow-up by {follow_up.get_channel_display().lower()} due "
                        f"{follow_up.due_at:%Y-%m-%d %H:%M %Z}", source=follow_up,
                        data={"follow_up": follow_up.pk, "rule": "", "via": "api",
                              "by": getattr(request_user(self.request), "pk", None)})


class CloseSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="",
                                 max_length=2000, help_text="Appended to the note.")


class _CloseView(APIView):
    permission_classes = [TenantPermission]
    queryset = m.FollowUp.objects.all()  # the resource the path's id names
    close = None

    def post(self, request, pk: int):
        follow_up = _follow_up(request, pk)
        body = CloseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        done = type(self).close(follow_up, note=body.validated_data["note"],
                                by=request_user(request))
        return Response(FollowUpSerializer(done, context={"request": request}).data)


_CLOSE_RESPONSES = {200: FollowUpSerializer, 400: _error("A bad note."),
                    403: _error("Your role may not change follow-ups (viewers)."),
                    404: _error("No such follow-up of yours."),
                    409: _error("not_open: already done or cancelled.")}


class FollowUpCompleteView(_CloseView):
    close = staticmethod(followups.complete)

    @extend_schema(operation_id="crm_follow_ups_complete", tags=["crm"],
                   summary="Mark this follow-up done", request=CloseSerializer,
                   responses=_CLOSE_RESPONSES,
                   description="Sets status done and completed_at; writes "
                               "`follow_up.completed` on the contact's timeline.")
    def post(self, request, pk: int):
        return super().post(request, pk)


class FollowUpCancelView(_CloseView):
    close = staticmethod(followups.cancel)

    @extend_schema(operation_id="crm_follow_ups_cancel", tags=["crm"],
                   summary="Cancel this follow-up", request=CloseSerializer,
                   responses=_CLOSE_RESPONSES,
                   description="Sets status cancelled; writes `follow_up.cancelled` on the "
                               "contact's timeline.")
    def post(self, request, pk: int):
        return super().post(request, pk)


class ContactScoreView(APIView):
    permission_classes = [TenantPermission]
    queryset = m.Contact.objects.all()  # the resource the path's id names

    @extend_schema(operation_id="crm_contacts_score", tags=["crm"], request=None,
                   summary="Score this contact now",
                   description="Appends the contact's lead score computed now by the rules "
                               "(with decay) and answers it; `lead.graded` goes on the "
                               "timeline when the grade changed.",
                   responses={201: LeadScoreSerializer,
                              403: _error("Your role may not change contacts (viewers)."),
                              404: _error("No such contact of yours.")})
    def post(self, request, pk: int):
        contact = _contact(request, pk, "change")
        row = scoring.score(contact)
        return Response(LeadScoreSerializer(row, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


urlpatterns = [
    path("crm/contacts/<int:pk>/score/", ContactScoreView.as_view(), name="crm-contact-score"),
    path("crm/follow-ups/<int:pk>/complete/", FollowUpCompleteView.as_view(),
         name="crm-followup-complete"),
    path("crm/follow-ups/<int:pk>/cancel/", FollowUpCancelView.as_view(),
         name="crm-followup-cancel"),
]
