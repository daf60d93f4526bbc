"""Serializers of reports: definitions are written here, runs and deliveries only read."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.serializers import BaseModelSerializer
from reports import models as m
from reports.services.definitions import recipients_check

_TIMESTAMPS = ["created_at", "updated_at"]


class ReportDefinitionSerializer(BaseModelSerializer):
    next_run_at = serializers.SerializerMethodField(
        help_text="When the schedule next fires; null when unscheduled or disabled.")

    class Meta:
        model = m.ReportDefinition
        fields = ["id", "workspace", "name", "description", "kind", "parameters", "recipients",
                  "output_csv", "output_xlsx", "skip_when_empty", "schedule_cron",
                  "schedule_timezone", "enabled", "next_run_at", "owner", *_TIMESTAMPS]
        read_only_fields = _TIMESTAMPS
        extra_kwargs = {"recipients": {"required": False},
                        "owner": {"help_text": "Told by email when a run fails; default: you "
                                               "(when you are a member)."}}

    def validate(self, attrs):
        attrs = super().validate(attrs)
        workspace = attrs.get("workspace") or getattr(self.instance, "workspace", None)
        if "recipients" in attrs and workspace is not None:
            recipients_check(workspace=workspace, users=attrs["recipients"])
        return attrs

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_next_run_at(self, obj):
        moment = obj.next_run_at()
        return serializers.DateTimeField().to_representation(moment) if moment else None


class ReportRunSerializer(BaseModelSerializer):
    html_url = serializers.SerializerMethodField(
        help_text="The report page (HTML with its charts); null until built.")
    csv_url = serializers.SerializerMethodField(help_text="A ZIP with a CSV per table.")
    xlsx_url = serializers.SerializerMethodField(help_text="The XLSX workbook.")

    class Meta:
        model = m.ReportRun
        fields = ["id", "workspace", "definition", "status", "trigger", "slot", "requested_by",
                  "parameters", "attempts", "started_at", "finished_at", "row_count", "error",
                  "delivered_to", "skipped_recipients", "html_url", "csv_url", "xlsx_url",
                  *_TIMESTAMPS]

    def _url(self, obj, name: str, present: bool) -> str | None:
        if not present:
            return None
        url = reverse(f"reports-reportrun-{name}", args=[obj.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url

    def get_html_url(self, obj) -> str | None:
        # The page is stored with the final status (``html`` itself is deferred in lists).
        return self._url(obj, "html", obj.status in (m.ReportRun.Status.SUCCEEDED,
                                                     m.ReportRun.Status.SKIPPED))

    def get_csv_url(self, obj) -> str | None:
        return self._url(obj, "csv", bool(obj.csv_file))

    def get_xlsx_url(self, obj) -> str | None:
        return self._url(obj, "xlsx", bool(obj.xlsx_file))


class ReportDeliverySerializer(BaseModelSerializer):
    class Meta:
        model = m.ReportDelivery
        fields = ["id", "workspace", "run", "recipient", "address", "channel", "status",
                  "attempts", "last_attempt_at", "sent_at", "error", "requested_by",
                  "overrode_opt_out", *_TIMESTAMPS]


class RunSendSerializer(serializers.Serializer):
    user = serializers.IntegerField(help_text="Id of an active member of the run's workspace.")
    override_opt_out = serializers.BooleanField(
        default=False, help_text="Send even if the member opted out of report emails "
                                 "(recorded on the delivery); without it such a member "
                                 "answers 400.")

    def validate_user(self, value: int):
        from workspaces.queries import active_member_users

        # Looked up among the members only: another tenant's user id reads as "not a member".
        user = active_member_users(self.context["run"].workspace_id).filter(pk=value).first()
        if user is None:
            raise serializers.ValidationError("Send only to active members of the workspace.")
        return user
