"""Factories for the analytics (BI) models; rows share their workspace with their client."""

import hashlib
import uuid
from datetime import date
from decimal import Decimal

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from factory.django import DjangoModelFactory

from analytics.formats import header_line
from analytics.models import Client as ClientModel
from analytics.models import ImportJob, InventoryRecord, SaleRecord

from .workspaces import SAME_WORKSPACE, WorkspaceFactory


def _import_upload():
    # A new file each time: the same bytes twice would be a duplicate import.
    content = f"{header_line('sales')}\n# {uuid.uuid4().hex}\n".encode()
    return SimpleUploadedFile("faturamento.csv", content, "text/csv")


#: Write-only fields the generic contract tests must add to a create body.
CONTRACT_EXTRA = {
    ImportJob: {"file": _import_upload},
}


class ClientFactory(DjangoModelFactory):
    class Meta:
        model = ClientModel

    workspace = factory.SubFactory(WorkspaceFactory)
    code = factory.Sequence(lambda n: 1000 + n)
    name = factory.Sequence(lambda n: f"Cliente {n + 1}")


class InventoryRecordFactory(DjangoModelFactory):
    class Meta:
        model = InventoryRecord

    workspace = factory.SubFactory(WorkspaceFactory)
    snapshot_date = date(2025, 6, 24)
    client = factory.SubFactory(ClientFactory, workspace=SAME_WORKSPACE)
    centre = "1101"
    material_type = "Produto Acabado"
    origin = "E_PRG_REF"
    product_code = "BFF"
    batch = factory.Sequence(lambda n: f"L2503{n:05d}")
    days_in_stock = 45
    product = "Bobina"
    product_group = "Laminado a Frio"
    stock_tonnes = Decimal("26.302")
    sku = "BFF-0.50X1200"


class SaleRecordFactory(DjangoModelFactory):
    class Meta:
        model = SaleRecord

    workspace = factory.SubFactory(WorkspaceFactory)
    sale_date = date(2024, 11, 13)
    client = factory.SubFactory(ClientFactory, workspace=SAME_WORKSPACE)
    batch = factory.Sequence(lambda n: f"L2411{n:05d}")
    origin = "PRG"
    product_group = "ZINCADO"
    product = "Chapa"
    product_code = "CZN"
    centre = "1201"
    city = "CURITIBA"
    state = "PR"
    net_weight_tonnes = Decimal("31.069")
    sku_client_turnover = Decimal("4.2294")
    sku = "CZN-0.80X1500"


class ImportJobFactory(DjangoModelFactory):
    """A finished sales import (what the pipeline leaves behind), with no rows attached.

    ``failed=True``: one that found a bad line, with its error report.
    """

    class Meta:
        model = ImportJob

    class Params:
        failed = factory.Trait(
            status=ImportJob.Status.FAILED, rows_imported=0, rows_rejected=1, error_count=1,
            errors_preview=[[3, "data", "2024-02-30", "is not a real calendar date"]],
            error_report=factory.django.FileField(
                filename="faturamento 1-errors.csv",
                data=b"line,column,value,reason\n3,data,2024-02-30,is not a real calendar date\n"),
            message="1 problem(s) on 1 line(s); nothing was loaded.")

    workspace = factory.SubFactory(WorkspaceFactory)
    dataset = ImportJob.Dataset.SALES
    file = factory.django.FileField(
        filename="faturamento 1.csv",
        data=factory.Sequence(lambda n: f"{header_line('sales')}\n# {n}\n".encode()))
    original_name = "faturamento 1.csv"
    size = factory.LazyAttribute(lambda o: o.file.size)
    checksum = factory.Sequence(lambda n: hashlib.sha256(f"import-{n}".encode()).hexdigest())
    status = ImportJob.Status.SUCCEEDED
    progress = 100
    rows_total = 40
    rows_imported = 40
    message = "Loaded 40 of 40 rows."
    attempts = 1
    started_at = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyFunction(timezone.now)
