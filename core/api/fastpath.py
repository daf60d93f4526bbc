"""The fast read path: list endpoints from ``values()`` rendered by orjson.

DRF's ``ModelSerializer`` builds a model instance and walks a field object per
cell; for 100 rows that costs several times the query itself.  When every
field of a serializer is a plain column (or a foreign key's id), the same JSON
comes straight from ``values()``.  Contract tests prove both paths agree for
every resource, so a serializer that gains a computed field simply falls back.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import models
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

# Serializer fields whose representation of a column value is the value itself
# (orjson writes dates, times, UUIDs and aware UTC datetimes as DRF does).
_PASSTHROUGH = (
    serializers.BooleanField,
    serializers.CharField,
    serializers.ChoiceField,
    serializers.DateField,
    serializers.FloatField,
    serializers.IntegerField,
    serializers.JSONField,
    serializers.TimeField,
    serializers.UUIDField,
)


@dataclass(frozen=True)
class ValuesPlan:
    # (output key, values() key, converter or None)
    columns: tuple[tuple[str, str, object], ...]

    def values(self, queryset, extra: tuple[str, ...] = ()) -> models.QuerySet:
        keys = [c[1] for c in self.columns]
        keys += [k for k in extra if k not in keys]
        return queryset.values(*keys)

    def render(self, rows) -> list[dict]:
        columns = self.columns
        return [
            {out: (conv(row[key]) if conv is not None and row[key] is not None else row[key])
             for out, key, conv in columns}
            for row in rows
        ]


def plan_for(serializer_class) -> ValuesPlan | None:
    """A values plan equivalent to the serializer, or ``None`` if there is none."""
    serializer = serializer_class()
    model = serializer.Meta.model
    columns = []
    for field in serializer.fields.values():
        if field.write_only:
            continue
        column = _column_for(model, field)
        if column is None:
            return None
        columns.append(column)
    return ValuesPlan(tuple(columns))


def _column_for(model, field) -> tuple[str, str, object] | None:
    source = field.source
    if "." in source or source == "*":
        return None
    try:
        model_field = model._meta.get_field(source)
    except Exception:
        return None
    if not getattr(model_field, "concrete", False) or model_field.many_to_many:
        return None
    if isinstance(field, serializers.PrimaryKeyRelatedField):
        if not model_field.many_to_one and not model_field.one_to_one:
            return None
        if field.pk_field is not None:
            return None
        return (field.field_name, model_field.attname, None)
    if model_field.is_relation:
        return None
    if isinstance(field, serializers.DateTimeField):
        fmt = getattr(field, "format", api_settings.DATETIME_FORMAT)
        if settings.TIME_ZONE != "UTC" or fmt not in (None, ISO_8601):
            return None  # orjson's ISO output matches DRF's only in UTC
        return (field.field_name, source, None)
    if isinstance(field, serializers.DecimalField):
        return (field.field_name, source, field.to_representation)
    if isinstance(field, serializers.DateField) and getattr(
        field, "format", api_settings.DATE_FORMAT
    ) not in (None, ISO_8601):
        return None
    if isinstance(field, serializers.ModelField) or not isinstance(field, _PASSTHROUGH):
        return None
    if isinstance(field, serializers.JSONField) and field.binary:
        return None
    return (field.field_name, source, None)
