"""BI data: clients are editable (names); inventory and sales rows come from imports.

Imports are uploaded here (one file per request) and run by the Celery worker;
clients poll the job for its status and progress, then fetch the error report.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser

from analytics import models as m
from analytics.services import imports
from core.api.errors import ApiError
from core.api.parsers import FormParser, JSONParser
from core.api.viewsets import (
    ScopedGenericViewSet,
    ScopedModelViewSet,
    ScopedReadOnlyModelViewSet,
)
from core.context import request_user
from core.downloads import CSV_TYPE, file_download

from . import serializers as s


class ClientViewSet(ScopedModelViewSet):
    queryset = m.Client.objects.all()
    serializer_class = s.ClientSerializer


class InventoryRecordViewSet(ScopedReadOnlyModelViewSet):
    """Inventory rows; `?import_job=<id>` lists what one import loaded."""

    queryset = m.InventoryRecord.objects.all()
    serializer_class = s.InventoryRecordSerializer


class SaleRecordViewSet(ScopedReadOnlyModelViewSet):
    """Sales rows; `?import_job=<id>` lists what one import loaded."""

    queryset = m.SaleRecord.objects.all()
    serializer_class = s.SaleRecordSerializer



class ImportJobViewSet(ScopedGenericViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                       mixins.CreateModelMixin):
    """BI file imports. Upload a file (multipart/form-data) to start one, then poll it.

    Creating answers 201 with the new job, always: a job that will run
    (`pending`), or, for a file this workspace already imported into the same
    dataset, a job with status `duplicate` that loaded nothing and says so in
    `message` (`duplicate_of` is the earlier import). Uploading needs the role
    that may add BI data in the workspace (member, or a custom role with
    `add_importjob`). Jobs are never edited or deleted.
    """

    queryset = m.ImportJob.objects.all()
    serializer_class = s.ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def perform_scoped_create(self, serializer):
        data = serializer.validated_data
        jobs = imports.import_jobs_create(
            workspace=data["workspace"], uploads={data["dataset"]: data["file"]},
            by=request_user(self.request), mode=data.get("mode", m.ImportJob.Mode.APPEND),
            replaces=data.get("replaces"), skip_invalid=data.get("skip_invalid", False),
            delimiter=data.get("delimiter", ""), encoding=data.get("encoding", ""))
        serializer.instance = jobs[0]

    @extend_schema(request={"multipart/form-data": s.ImportJobSerializer},
                   responses={201: s.ImportJobSerializer},
                   summary="Upload a file to import (multipart/form-data)")
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    def perform_content_negotiation(self, request, force=False):
        # The report is CSV whatever the Accept header says, and its errors JSON:
        # never answer 406 to a client that only accepts text/csv.
        return super().perform_content_negotiation(request, force=force or
                                                   self.action == "errors")

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY},
                   summary="Download the error report (CSV: line, column, value, reason)",
                   description="404 with code `no_error_report` when the import found no "
                               "problems (or has not finished reading the file yet).")
    @action(detail=True, methods=["get"])
    def errors(self, request, pk=None):
        job = self.get_object()
        if not job.error_report:
            raise ApiError(404, "no_error_report",
                           f"Import #{job.pk} has no error report "
                           f"({job.get_status_display().lower()}).")
        try:
            return file_download(job.error_report, CSV_TYPE, filename=job.error_report_name)
        except OSError as exc:
            raise ApiError(404, "no_error_report",
                           f"The error report of import #{job.pk} is missing from "
                           "storage.") from exc
