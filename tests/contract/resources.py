"""Helpers shared by the generic contract tests: payloads derived from factories."""

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from rest_framework import serializers

from core import registry, tenancy
from core.api.permissions import ModelPermissions
from core.models import is_catalogue, is_public_read
from tests.factories import CONTRACT_EXTRA, factory_for

RESOURCES = registry.api_resources()
WRITABLE = [r for r in RESOURCES if "create" in r.operations]
DELETE_ONLY = [r for r in RESOURCES if "delete" in r.operations and "create" not in r.operations]
PARTIAL = [r for r in RESOURCES if set(r.operations) != set(registry.OPERATIONS)]
# Resources guarded by model permissions vs. those scoped to the caller's own rows.
MODEL_GUARDED = [r for r in RESOURCES if ModelPermissions in r.viewset.permission_classes]
SCOPED = [r for r in RESOURCES if tenancy.is_scoped(r.model)]
# Global reference data (``catalogue = True``): any signed-in caller reads, nobody writes.
CATALOGUE = [r for r in RESOURCES if is_catalogue(r.model)]
# Global rows staff manage that every signed-in caller reads (``public_read = True``).
PUBLIC_READ = [r for r in RESOURCES if is_public_read(r.model)]
OWNER_SCOPED = [r for r in RESOURCES if ModelPermissions not in r.viewset.permission_classes
                and not tenancy.is_scoped(r.model) and not is_catalogue(r.model)
                and not is_public_read(r.model)]


def resource_id(resource) -> str:
    return resource.basename


def list_url(resource) -> str:
    return reverse(resource.list_url_name)


def detail_url(resource, pk) -> str:
    return reverse(resource.detail_url_name, kwargs={"pk": pk})


def make(resource, **kwargs):
    return factory_for(resource.model)(**kwargs)


def writable_payload(resource, **overrides) -> dict:
    """A valid create/update body: a fresh factory object's representation, then removed.

    Building it from a real saved object gives valid related ids and formats;
    deleting it frees unique values for the request to reuse.
    """
    try:
        with transaction.atomic():
            obj = make(resource, **overrides)
    except IntegrityError:
        # One row per workspace (e.g. a billing customer) and the workspace has it: the
        # payload comes from an unsaved twin instead.
        obj = factory_for(resource.model).build(**overrides)
    serializer_class = resource.viewset.serializer_class
    writable = {n for n, f in serializer_class().fields.items() if not f.read_only}
    data = {k: v for k, v in serializer_class(obj).data.items() if k in writable}
    if obj.pk is not None:
        obj.delete()
    for name, value in CONTRACT_EXTRA.get(resource.model, {}).items():
        data[name] = value() if callable(value) else value
    if is_multipart(data):
        # Form encoding carries no nested JSON; those fields keep their defaults.
        data = {k: v for k, v in data.items() if not isinstance(v, dict) and v is not None}
    return data


def is_multipart(data: dict) -> bool:
    return any(isinstance(v, UploadedFile) for v in data.values())


def body_format(data: dict) -> str:
    return "multipart" if is_multipart(data) else "json"


def invalid_value_for(field):
    """A value the field must reject, or None if it has no generic bad value."""
    if isinstance(field, serializers.PrimaryKeyRelatedField):
        return 2_000_000_000
    if isinstance(field, serializers.BooleanField):
        return "perhaps"
    if isinstance(field, serializers.ChoiceField):
        return "no-such-choice"
    if isinstance(field, serializers.DateTimeField | serializers.DateField):
        return "not-a-date"
    if isinstance(field, serializers.IntegerField | serializers.FloatField
                  | serializers.DecimalField):
        return "not-a-number"
    if isinstance(field, serializers.EmailField):
        return "not-an-email"
    if isinstance(field, serializers.URLField):
        return "not a url"
    if isinstance(field, serializers.CharField) and field.max_length:
        return "x" * (field.max_length + 1)
    return None
