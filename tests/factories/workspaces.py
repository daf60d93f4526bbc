"""Factories for workspace models; related rows always share their workspace."""

import hashlib
import uuid
from datetime import timedelta

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from factory.django import DjangoModelFactory

from workspaces import models as m
from workspaces.services import keys, vault

from .accounts import UserFactory

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


#: Write-only fields the generic contract tests must add to a create body.
CONTRACT_EXTRA = {
    m.File: {"file": _upload},
    m.Secret: {"value": lambda: "sk-test-" + uuid.uuid4().hex},
}
