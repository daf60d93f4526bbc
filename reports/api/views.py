"""Reports API: definitions (CRUD, run now), runs (read, download), deliveries (read).

Scoped like every workspace resource: other tenants' rows answer 404, viewers
read, members write and start runs.
"""

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from core import tenancy
from core.api.errors import ApiError
from core.api.viewsets import ScopedModelViewSet, ScopedReadOnlyModelViewSet
from core.context import request_user
from core.downloads import XLSX_TYPE, ZIP_TYPE, file_download
from reports import models as m
from reports.downloads import page_response
from reports.services import definitions, deliveries, runs

from . import serializers as s


class ReportDefinitionViewSet(ScopedModelViewSet):
    """Reports to build on a schedule (cron) or on demand, emailed to their recipients.

    `parameters` is a JSON object; every key is optional: `period` (e.g.
    `previous_month`, `month_to_date`, `last_30_days`) or `date_from`/`date_to`,
    `clients`, `states`, `skus`, `product_groups`, `grouping` (`month`/`quarter`),
    `top_n`, `forecast_months`, `holdout_months`, `overstock_months`,
    `reorder_months`. Bad keys or values answer 400 naming them.
    """

    queryset = m.ReportDefinition.objects.all()
    serializer_class = s.ReportDefinitionSerializer

    def perform_scoped_create(self, serializer):
        serializer.instance = definitions.definition_create(by=request_user(self.request),
                                                            **serializer.validated_data)

    def perform_update(self, serializer):
        with transaction.atomic():
            serializer.instance = definitions.definition_update(
                serializer.instance, **serializer.validated_data)

    @extend_schema(request=None, responses={202: s.ReportRunSerializer},
                   summary="Run now: build the report and send it to its recipients",
                   description="Answers 202 with the new run (status `pending`); poll it.")
    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        definition = self.get_object()
        if not tenancy.can(tenancy.principal_for(request), definition, "change"):
            raise PermissionDenied("Your role in this workspace cannot run reports.")
        run = runs.run_request(definition, trigger=m.ReportRun.Trigger.API,
                               by=request_user(request))
        return Response(s.ReportRunSerializer(run, context=self.get_serializer_context()).data,
                        status=status.HTTP_202_ACCEPTED)


class ReportRunViewSet(ScopedReadOnlyModelViewSet):
    """Runs of report definitions, newest first, with their downloads."""

    queryset = m.ReportRun.objects.all()
    serializer_class = s.ReportRunSerializer
    _FILES = ("html", "csv", "xlsx")

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action in self._FILES:
            return queryset
        return queryset.defer("html", "email_html")  # large; the serializer never reads them

    def perform_content_negotiation(self, request, force=False):
        # Files are what they are whatever Accept says; their errors are JSON.
        return super().perform_content_negotiation(request, force=force or
                                                   self.action in self._FILES)

    def _missing(self, run, what: str):
        return ApiError(404, "no_artefact",
                        f"Run #{run.pk} has no {what} ({run.get_status_display().lower()}).")

    @extend_schema(responses={(200, "text/html"): OpenApiTypes.STR},
                   summary="The report page: HTML with its charts as inline SVG",
                   description="404 with code `no_artefact` until the run is built.")
    @action(detail=True, methods=["get"])
    def html(self, request, pk=None):
        run = self.get_object()
        if not run.html:
            raise self._missing(run, "report page")
        return page_response(run.html, f"report-{run.pk}.html")

    def _file(self, run, field, what: str, content_type: str):
        if not field:
            raise self._missing(run, what)
        try:
            return file_download(field, content_type)
        except OSError as exc:
            raise ApiError(404, "no_artefact",
                           f"The {what} of run #{run.pk} is missing from storage.") from exc

    @extend_schema(responses={(200, ZIP_TYPE): OpenApiTypes.BINARY},
                   summary="The tables as CSV: a ZIP with one file per table",
                   description="404 with code `no_artefact` when the definition does not "
                               "produce CSV or the run is not built.")
    @action(detail=True, methods=["get"])
    def csv(self, request, pk=None):
        run = self.get_object()
        return self._file(run, run.csv_file, "CSV files", ZIP_TYPE)

    @extend_schema(responses={(200, XLSX_TYPE): OpenApiTypes.BINARY},
                   summary="The report as an XLSX workbook",
                   description="404 with code `no_artefact` when the definition does not "
                               "produce XLSX or the run is not built.")
    @action(detail=True, methods=["get"])
    def xlsx(self, request, pk=None):
        run = self.get_object()
        return self._file(run, run.xlsx_file, "workbook", XLSX_TYPE)


    @extend_schema(request=s.RunSendSerializer, responses={202: s.ReportDeliverySerializer},
                   summary="Send this run to one member (someone added later, or again)",
                   description="A member who opted out of report emails answers 400 "
                               "(`override_opt_out`) unless `override_opt_out` is true; the "
                               "delivery then records who asked and that it overrode.")
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        run = self.get_object()
        if not tenancy.can(tenancy.principal_for(request), run.definition, "change"):
            raise PermissionDenied("Your role in this workspace cannot send reports.")
        data = s.RunSendSerializer(data=request.data, context={"run": run})
        data.is_valid(raise_exception=True)
        delivery = deliveries.run_send_to(
            run, data.validated_data["user"], by=request_user(request),
            override_opt_out=data.validated_data["override_opt_out"])
        return Response(s.ReportDeliverySerializer(delivery,
                                                   context=self.get_serializer_context()).data,
                        status=status.HTTP_202_ACCEPTED)


class ReportDeliveryViewSet(ScopedReadOnlyModelViewSet):
    """Each run sent to each recipient: status, attempts and the last error."""

    queryset = m.ReportDelivery.objects.all()
    serializer_class = s.ReportDeliverySerializer
