"""Factories for workspace models; related rows always share their workspace."""

import hashlib
import uuid
from datetime import date, timedelta
from decimal import Decimal

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from factory.django import DjangoModelFactory

from analytics.formats import header_line
from analytics.models import Client as ClientModel
from analytics.models import ImportJob, InventoryRecord, SaleRecord
from workspaces import models as m
from workspaces.services import keys, vault

from .factories import UserFactory

SAME_WORKSPACE = factory.SelfAttribute("..workspace")


class WorkspaceFactory(DjangoModelFactory):
    class Meta:
        model = m.Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")
    slug = factory.Sequence(lambda n: f"workspace-{n}")
    settings = factory.Dict({"locale": "pt-BR"})
    metadata = factory.Dict({"industry": "steel"})
    features_enabled = factory.Dict({"reports": True})


class RoleFactory(DjangoModelFactory):
    class Meta:
        model = m.Role
        skip_postgeneration_save = True

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Role {n}")
    description = "Can publish projects"


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = m.Membership

    workspace = factory.SubFactory(WorkspaceFactory)
    user = factory.SubFactory(UserFactory)
    role = "member"


class InvitationFactory(DjangoModelFactory):
    class Meta:
        model = m.Invitation

    workspace = factory.SubFactory(WorkspaceFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = "member"
    token_hash = factory.LazyFunction(lambda: hashlib.sha256(uuid.uuid4().bytes).hexdigest())
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


class TagFactory(DjangoModelFactory):
    class Meta:
        model = m.Tag

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"tag-{n}")
    color = "#2563eb"


class ProjectFactory(DjangoModelFactory):
    class Meta:
        model = m.Project
        skip_postgeneration_save = True

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Project {n}")
    description = "Automate the quarterly sales report"


class ProjectVersionFactory(DjangoModelFactory):
    class Meta:
        model = m.ProjectVersion

    workspace = factory.SubFactory(WorkspaceFactory)
    project = factory.SubFactory(ProjectFactory, workspace=SAME_WORKSPACE)
    number = factory.Sequence(lambda n: n + 1)
    notes = "First cut"
    snapshot = factory.Dict({"nodes": 3})


class ProjectCollaboratorFactory(DjangoModelFactory):
    class Meta:
        model = m.ProjectCollaborator

    workspace = factory.SubFactory(WorkspaceFactory)
    project = factory.SubFactory(ProjectFactory, workspace=SAME_WORKSPACE)
    # Collaborators are people of the workspace.
    user = factory.LazyAttribute(lambda o: MembershipFactory(workspace=o.workspace).user)
    access = "edit"


class ProjectCommentFactory(DjangoModelFactory):
    class Meta:
        model = m.ProjectComment

    workspace = factory.SubFactory(WorkspaceFactory)
    project = factory.SubFactory(ProjectFactory, workspace=SAME_WORKSPACE)
    body = "Looks good to me."


class ActivityFactory(DjangoModelFactory):
    class Meta:
        model = m.Activity

    workspace = factory.SubFactory(WorkspaceFactory)
    verb = "project.created"
    summary = "Project created"
    data = factory.Dict({"via": "factory"})


class WorkspaceFeatureFactory(DjangoModelFactory):
    class Meta:
        model = m.WorkspaceFeature

    workspace = factory.SubFactory(WorkspaceFactory)
    key = factory.Sequence(lambda n: f"feature-{n}")
    enabled = True
    config = factory.Dict({"limit": 10})


def _upload():
    return SimpleUploadedFile("report.csv", b"codigo|nome\n1|Cliente 1\n", "text/csv")


class FileFactory(DjangoModelFactory):
    class Meta:
        model = m.File

    workspace = factory.SubFactory(WorkspaceFactory)
    project = factory.SubFactory(ProjectFactory, workspace=SAME_WORKSPACE)
    name = factory.Sequence(lambda n: f"file-{n}.csv")
    file = factory.django.FileField(filename="data.csv", data=b"a|b\n1|2\n")
    content_type = "text/csv"
    size = 8
    checksum = hashlib.sha256(b"a|b\n1|2\n").hexdigest()


class SecretFactory(DjangoModelFactory):
    class Meta:
        model = m.Secret

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"OPENAI_KEY_{n}")
    description = "LLM provider key"
    ciphertext = factory.LazyFunction(lambda: vault.encrypt("sk-live-value"))


class SecretAccessFactory(DjangoModelFactory):
    class Meta:
        model = m.SecretAccess

    workspace = factory.SubFactory(WorkspaceFactory)
    secret = factory.SubFactory(SecretFactory, workspace=SAME_WORKSPACE)
    action = "reveal"
    ip_address = "192.0.2.5"


class ApiKeyFactory(DjangoModelFactory):
    """Keys exist only through the service, which hashes them; ``raw`` is the usable key."""

    class Meta:
        model = m.ApiKey

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Key {n}")
    role = "member"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        key, raw = keys.api_key_create(**kwargs)
        key.raw = raw
        return key


def _import_upload():
    # A new file each time: the same bytes twice would be a duplicate import.
    content = f"{header_line('sales')}\n# {uuid.uuid4().hex}\n".encode()
    return SimpleUploadedFile("faturamento.csv", content, "text/csv")


#: Write-only fields the generic contract tests must add to a create body.
CONTRACT_EXTRA = {
    m.File: {"file": _upload},
    m.Secret: {"value": lambda: "sk-test-" + uuid.uuid4().hex},
    ImportJob: {"file": _import_upload},
}


# --- analytics (BI) -------------------------------------------------------------------------

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
