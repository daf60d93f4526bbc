"""Contacts API actions: duplicates, merge, convert and CSV import.

Thin over ``crm.services.contacts`` and ``crm.imports.service``: every rule and every
refusal comes from there, the same as in the admin and ``manage.py import_contacts``.
A contact out of the caller's reach answers 404; reading needs view, writing change
(members and up; viewers read only).
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.api.serializers import ImportJobSerializer
from core import tenancy
from core.api.errors import ApiError
from core.api.permissions import TenantPermission
from core.api.schema import ErrorSerializer
from core.context import request_user

from .. import models as m
from ..imports import contacts as contacts_format
from ..imports.service import contact_import_start
from ..services import contacts as services
from ..services import timeline
from .serializers import ContactSerializer, CustomerSerializer


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


def _contact(request, pk: int, action: str = "view") -> m.Contact:
    """The contact ``pk`` if the caller may see it (else 404) and ``action`` it (else 403)."""
    principal = tenancy.principal_for(request)
    contact = tenancy.visible(m.Contact.objects.all(), principal).filter(pk=pk).first()
    if contact is None:
        raise ApiError(404, "not_found", f"No contact with id {pk} of yours.")
    if action != "view" and not tenancy.can(principal, contact, action):
        raise ApiError(403, "permission_denied",
                       "Your role in this workspace may read contacts, not change them.")
    return contact


class ContactWritesMixin:
    """For ``ContactViewSet`` (in front of ``ScopedModelViewSet``): contacts created or
    changed through the CRUD API leave ``contact.created`` / ``contact.updated`` on their
    timeline, as the services' writes do (the serializer already normalises numbers)."""

    def perform_scoped_create(self, serializer):
        contact = serializer.save()
        timeline.record(contact, "contact.created", f"Contact {contact} created",
                        data={"by": getattr(request_user(self.request), "pk", None),
                              "via": "api"})

    def perform_update(self, serializer):
        instance = serializer.instance
        changed = [name for name, value in serializer.validated_data.items()
                   if not instance._meta.get_field(name).many_to_many
                   and getattr(instance, name) != value]
        changed += [name for name, value in serializer.validated_data.items()
                    if instance._meta.get_field(name).many_to_many]
        with transaction.atomic():
            contact = serializer.save()
            if changed:
                timeline.record(contact, "contact.updated", "Updated " + ", ".join(changed),
                                data={"fields": changed, "via": "api",
                                      "by": getattr(request_user(self.request), "pk", None)})


class MergeSerializer(serializers.Serializer):
    other = serializers.IntegerField(min_value=1, max_value=2**63 - 1,
                                     help_text="The duplicate to fold into this contact.")


class ConvertSerializer(serializers.Serializer):
    value = serializers.IntegerField(min_value=0, max_value=2**63 - 1,
                                     help_text="Deal value in minor units (cents).")
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", default="USD",
                                      help_text="ISO 4217 code, e.g. EUR.")
    converted_at = serializers.DateTimeField(required=False, allow_null=True,
                                             help_text="Default: now.")
    notes = serializers.CharField(required=False, allow_blank=True, default="",
                                  max_length=5000)


class ContactImportSerializer(serializers.Serializer):
    workspace = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    file = serializers.FileField(allow_empty_file=True, help_text=(
        "CSV with a header: first_name, last_name, phone, email, company, time_zone, tags "
        "(separated by ; or |), source, and custom_<name> columns (into custom_fields); "
        "any order, a phone or an email column required."))
    skip_invalid = serializers.BooleanField(
        default=False, help_text="Load the good lines when some are bad (default: a bad "
                                 "line means nothing is loaded).")
    on_duplicate = serializers.ChoiceField(
        choices=contacts_format.ON_DUPLICATE, default="skip",
        help_text="A line with the number or email of an existing contact: `skip` it or "
                  "`update` that contact.")
    region = serializers.CharField(required=False, allow_blank=True, default="", max_length=2,
                                   help_text="Country of numbers written without +, e.g. PT.")
    delimiter = serializers.CharField(required=False, allow_blank=True, default="",
                                      max_length=1, trim_whitespace=False,
                                      help_text="Blank: detected from the header line.")
    encoding = serializers.CharField(required=False, allow_blank=True, default="",
                                     max_length=32, help_text="Blank: detected.")


class ContactDuplicatesView(APIView):
    permission_classes = [TenantPermission]
    queryset = m.Contact.objects.all()  # the resource the path's id names

    @extend_schema(
        operation_id="crm_contacts_duplicates", tags=["crm"],
        summary="Other contacts of the workspace with the same number or email",
        description="Same phone number in E.164 (main or alternative numbers, whatever "
                    "notation they were entered in) or the same email in any case. "
                    "Contacts already merged away are left out.",
        responses={200: ContactSerializer(many=True),
                   404: _error("No such contact of yours.")})
    def get(self, request, pk: int):
        contact = _contact(request, pk)
        found = services.duplicates(contact)
        return Response(ContactSerializer(found, many=True,
                                          context={"request": request}).data)


class ContactMergeView(APIView):
    permission_classes = [TenantPermission]
    queryset = m.Contact.objects.all()  # the resource the path's id names

    @extend_schema(
        operation_id="crm_contacts_merge", tags=["crm"],
        summary="Merge a duplicate into this contact",
        description="Every note, call (with its transcript), event, interaction, list "
                    "membership, campaign entry, lead score, follow-up and journey of "
                    "`other` moves to this contact; tags are joined; empty fields are "
                    "filled from `other`.  `other` stays, flagged with `merged_into`.",
        request=MergeSerializer,
        responses={200: ContactSerializer,
                   400: _error("`other` missing, this contact itself, or in another "
                               "workspace."),
                   403: _error("Your role may not change contacts (viewers)."),
                   404: _error("No such contact (or `other`) of yours."),
                   409: _error("already_merged: one of them was merged away before.")})
    def post(self, request, pk: int):
        keep = _contact(request, pk, "change")
        body = MergeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        other = _contact(request, body.validated_data["other"], "change")
        keep = services.merge(keep=keep, other=other, by=request_user(request))
        return Response(ContactSerializer(keep, context={"request": request}).data)


class ContactConvertView(APIView):
    permission_classes = [TenantPermission]
    queryset = m.Contact.objects.all()  # the resource the path's id names

    @extend_schema(
        operation_id="crm_contacts_convert", tags=["crm"],
        summary="Convert this contact into a customer",
        description="Creates the customer (value, currency, date), moves the contact's "
                    "journey to stage `customer`, sets its status to customer and writes "
                    "`contact.converted` on its timeline.",
        request=ConvertSerializer,
        responses={201: CustomerSerializer,
                   400: _error("Bad value or currency."),
                   403: _error("Your role may not change contacts (viewers)."),
                   404: _error("No such contact of yours."),
                   409: _error("already_customer, or already_merged.")})
    def post(self, request, pk: int):
        contact = _contact(request, pk, "change")
        body = ConvertSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        customer = services.convert(contact, value=data["value"], currency=data["currency"],
                                    converted_at=data.get("converted_at"),
                                    notes=data["notes"], by=request_user(request))
        return Response(CustomerSerializer(customer, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class ContactImportView(APIView):
    permission_classes = [TenantPermission]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="crm_contacts_import", tags=["crm"],
        summary="Import contacts from a CSV file",
        description="Answers at once with the import job (status `pending`; poll "
                    "`bi/imports/{id}/` for progress).  Bad lines are reported with "
                    "their line numbers (`errors_preview`, `errors_url`) and, unless "
                    "`skip_invalid`, nothing is loaded.  The same file uploaded again to "
                    "the same workspace gives a `duplicate` job that loads nothing.",
        request={"multipart/form-data": ContactImportSerializer},
        responses={202: ImportJobSerializer,
                   400: _error("No file, not a CSV text file, or a bad option."),
                   403: _error("Your role may not add contacts (viewers)."),
                   404: _error("No such workspace of yours.")})
    def post(self, request):
        body = ContactImportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        principal = tenancy.principal_for(request)
        workspaces = apps.get_model(settings.TENANCY_WORKSPACE_MODEL).objects
        workspace = tenancy.visible(workspaces.filter(pk=data["workspace"]), principal).first()
        if workspace is None:
            raise ApiError(404, "not_found", f"No workspace with id {data['workspace']} of "
                                             "yours.")
        if not tenancy.can_in_workspace(principal, workspace, m.Contact, "add"):
            raise ApiError(403, "permission_denied",
                           "Your role in this workspace may not add contacts.")
        job = contact_import_start(
            workspace=workspace, upload=data["file"], by=request_user(request),
            skip_invalid=data["skip_invalid"], on_duplicate=data["on_duplicate"],
            region=data["region"], delimiter=data["delimiter"], encoding=data["encoding"])
        return Response(ImportJobSerializer(job, context={"request": request}).data,
                        status=status.HTTP_202_ACCEPTED)


urlpatterns = [
    path("crm/contacts/import/", ContactImportView.as_view(), name="crm-contact-import"),
    path("crm/contacts/<int:pk>/duplicates/", ContactDuplicatesView.as_view(),
         name="crm-contact-duplicates"),
    path("crm/contacts/<int:pk>/merge/", ContactMergeView.as_view(), name="crm-contact-merge"),
    path("crm/contacts/<int:pk>/convert/", ContactConvertView.as_view(),
         name="crm-contact-convert"),
]
