"""Factories for report models; related rows share their workspace, people are members."""

import io
import zipfile
from datetime import UTC, datetime, timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from reports.data import ReportParameters
from reports.models import ReportDefinition, ReportDelivery, ReportRun
from reports.services.definitions import definition_schedule_sync

from .workspaces import SAME_WORKSPACE, MembershipFactory, WorkspaceFactory


def _member(workspace, role: str = "member"):
    return MembershipFactory(workspace=workspace, role=role).user


def _csv_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("sales_by_state.csv", "State,Weight (t)\nPR,31.069\n")
    return buffer.getvalue()


class ReportDefinitionFactory(DjangoModelFactory):
    """Monthly regional sales for last month; one member recipient; scheduled in beat."""

    class Meta:
        model = ReportDefinition
        skip_postgeneration_save = True

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Monthly sales {n}")
    description = "Weight by state, the previous month"
    kind = "regional_sales"
    parameters = factory.LazyFunction(lambda: {"period": "previous_month",
                                               "states": ["PR", "SP"]})
    output_csv = True
    output_xlsx = True
    skip_when_empty = False
    schedule_cron = "0 7 1 * *"
    schedule_timezone = "America/Sao_Paulo"
    enabled = True
    owner = factory.LazyAttribute(lambda o: _member(o.workspace))

    @factory.post_generation
    def recipients(self, create, extracted, **kwargs):
        if create:
            self.recipients.set(extracted if extracted is not None
                                else [_member(self.workspace)])

    @factory.post_generation
    def schedule(self, create, extracted, **kwargs):
        if create:
            definition_schedule_sync(self)


class ReportRunFactory(DjangoModelFactory):
    """A built scheduled run, with its page and files."""

    class Meta:
        model = ReportRun

    workspace = factory.SubFactory(WorkspaceFactory)
    definition = factory.SubFactory(ReportDefinitionFactory, workspace=SAME_WORKSPACE)
    status = ReportRun.Status.SUCCEEDED
    trigger = ReportRun.Trigger.SCHEDULE
    slot = factory.Sequence(lambda n: datetime(2025, 1, 1, 10, tzinfo=UTC) + timedelta(days=n))
    parameters = factory.LazyFunction(lambda: ReportParameters(states=("PR",)).to_dict())
    attempts = 1
    started_at = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyFunction(timezone.now)
    row_count = 1
    html = "<!DOCTYPE html><html><body><h1>Monthly sales</h1></body></html>"
    email_html = "<!DOCTYPE html><html><body><h1>Monthly sales</h1></body></html>"
    csv_file = factory.django.FileField(filename="monthly-sales-csv.zip",
                                        data=factory.LazyFunction(_csv_zip))
    xlsx_file = factory.django.FileField(filename="monthly-sales.xlsx", data=b"PK\x03\x04")
    delivered_to = factory.LazyFunction(list)


class ReportDeliveryFactory(DjangoModelFactory):
    class Meta:
        model = ReportDelivery

    workspace = factory.SubFactory(WorkspaceFactory)
    run = factory.SubFactory(ReportRunFactory, workspace=SAME_WORKSPACE)
    recipient = factory.LazyAttribute(lambda o: _member(o.workspace))
    address = factory.LazyAttribute(lambda o: o.recipient.email)
    channel = ReportDelivery.Channel.EMAIL
    status = ReportDelivery.Status.SENT
    attempts = 1
    last_attempt_at = factory.LazyFunction(timezone.now)
    sent_at = factory.LazyFunction(timezone.now)
