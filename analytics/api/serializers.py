from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from analytics import models as m
from analytics.pipeline import formats
from analytics.pipeline.outcome import problem_cells, shown_progress
from core.api.serializers import BaseModelSerializer


class ClientSerializer(BaseModelSerializer):
    class Meta:
        model = m.Client
        fields = ["id", "workspace", "code", "name", "created_at", "updated_at"]


class ImportedRecordSerializer(BaseModelSerializer):
    """Rows loaded from a file; ``source_timestamp`` reads back as the file gave it."""

    source_timestamp = serializers.SerializerMethodField(
        help_text="The file's date and time, on the clock of the zone it was read in "
                  "(the import's `source_time_zone`, with its offset); null when the file "
                  "gave a date only, which the date field then holds as given.")

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_source_timestamp(self, obj) -> str | None:
        if obj.source_timestamp is None:
            return None
        return obj.source_timestamp.astimezone(self._zone(obj.import_job_id)).isoformat()

    def _zone(self, job_id: int | None) -> ZoneInfo:
        # One lookup per import on a page, not per row (a page is one or two imports).
        zones = self.__dict__.setdefault("_zones", {})
        if job_id not in zones:
            name = (m.ImportJob.objects.filter(pk=job_id)
                    .values_list("source_time_zone", flat=True).first() if job_id else "")
            zones[job_id] = ZoneInfo(name or settings.BI_SOURCE_TIME_ZONE)
        return zones[job_id]


class InventoryRecordSerializer(ImportedRecordSerializer):
    class Meta:
        model = m.InventoryRecord
        fields = ["id", "workspace", "snapshot_date", "source_timestamp", "client", "centre",
                  "material_type", "origin", "product_code", "batch", "days_in_stock",
                  "product", "product_group", "stock_tonnes", "sku", "import_job"]
        read_only_fields = ["import_job"]


class SaleRecordSerializer(ImportedRecordSerializer):
    class Meta:
        model = m.SaleRecord
        fields = ["id", "workspace", "sale_date", "source_timestamp", "client", "batch",
                  "origin", "product_group", "product", "product_code", "centre", "city",
                  "state", "net_weight_tonnes", "sku_client_turnover", "sku", "import_job"]
        read_only_fields = ["import_job"]


class ImportProblemSerializer(serializers.Serializer):
    """One problem found in an uploaded file (a row of the error report)."""

    line = serializers.IntegerField(help_text="Line in the file; the header is line 1.")
    column = serializers.CharField(help_text="Column header; empty for the whole line.")
    value = serializers.CharField(help_text="The value as found in the file.")
    reason = serializers.CharField()


_ROWS_ROUTE = {m.ImportJob.Dataset.INVENTORY: "analytics-inventoryrecord-list",
               m.ImportJob.Dataset.SALES: "analytics-salerecord-list"}


class ImportJobSerializer(BaseModelSerializer):
    """An import job; created by uploading one file (multipart/form-data)."""

    # Empty files reach the service, whose rule (and message) every door shares.
    file = serializers.FileField(
        write_only=True, allow_empty_file=True,
        help_text="The CSV file (the predecessor's pipe-delimited format, or `;`, `,` or tab "
                  "with the same header).")
    errors_preview = serializers.SerializerMethodField(
        help_text="The first problems found (at most 50); the full list is `errors_url`.")
    errors_url = serializers.SerializerMethodField(
        help_text="Download of the full error report (CSV); null when there is none.")
    rows_url = serializers.SerializerMethodField(
        help_text="The inventory or sales rows this import loaded.")
    progress = serializers.SerializerMethodField(
        help_text="Percent done: 100 once the job finished, null once it failed (no bar "
                  "to draw; `message` says why).")

    class Meta:
        model = m.ImportJob
        fields = ["id", "workspace", "dataset", "file", "original_name", "size", "checksum",
                  "mode", "replaces", "skip_invalid", "delimiter", "encoding", "status",
                  "duplicate_of", "progress", "rows_total", "rows_imported", "rows_rejected",
                  "clients_created", "error_count", "errors_preview", "errors_url", "rows_url",
                  "message", "attempts", "started_at", "finished_at", "source_time_zone",
                  "created_by", "created_at", "updated_at"]
        read_only_fields = ["original_name", "size", "checksum", "status", "duplicate_of",
                            "rows_total", "rows_imported", "rows_rejected",
                            "clients_created", "error_count", "message", "attempts",
                            "started_at", "finished_at", "source_time_zone", "created_by",
                            "created_at", "updated_at"]
        extra_kwargs = {
            # A tab is a delimiter, not whitespace to trim.
            "delimiter": {"trim_whitespace": False},
            "mode": {"help_text": "`replace` swaps out the rows of `replaces` (default: the "
                                  "latest succeeded import of the dataset) in one step."},
        }

    @extend_schema_field(serializers.IntegerField(allow_null=True, min_value=0,
                                                  max_value=100))
    def get_progress(self, obj) -> int | None:
        return shown_progress(obj)

    @extend_schema_field(ImportProblemSerializer(many=True))
    def get_errors_preview(self, obj) -> list[dict]:
        return [dict(zip(("line", "column", "value", "reason"), problem_cells(error),
                         strict=True))
                for error in obj.errors_preview or []]

    def get_errors_url(self, obj) -> str | None:
        if not obj.error_report:
            return None
        return self._absolute(reverse("analytics-importjob-errors", args=[obj.pk]))

    def get_rows_url(self, obj) -> str:
        if obj.dataset not in _ROWS_ROUTE:  # another app's format (crm's contacts)
            route = getattr(formats.get(obj.dataset), "rows_route", "")
            return self._absolute(f"{reverse(route)}?workspace={obj.workspace_id}") \
                if route else ""
        return self._absolute(f"{reverse(_ROWS_ROUTE[obj.dataset])}?import_job={obj.pk}")

    def _absolute(self, url: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url
