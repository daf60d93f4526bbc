"""Filterset base: every plain column is filterable with lookups that fit its type."""

import django_filters
from django import forms
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django_filters.rest_framework import DjangoFilterBackend

from core import tenancy
from core.models import sensitive_fields

# Columns whose values are documents, blobs or search indexes, not something to filter on.
UNFILTERABLE = (models.JSONField, models.BinaryField, models.FileField, SearchVectorField)

_NUMERIC_LOOKUPS = ["exact", "lt", "lte", "gt", "gte", "in"]
_TEXT_LOOKUPS = ["exact", "iexact", "icontains", "istartswith", "in"]


def filterable_fields(model: type[models.Model]) -> list[models.Field]:
    hidden = sensitive_fields(model)
    return [
        f
        for f in model._meta.concrete_fields
        if not isinstance(f, UNFILTERABLE) and f.name not in hidden
    ]


def lookups_for(field: models.Field) -> list[str]:
    if field.is_relation:
        return ["exact", "in", "isnull"] if field.null else ["exact", "in"]
    if isinstance(field, models.BooleanField):
        return ["exact", "isnull"] if field.null else ["exact"]
    if field.choices:
        return ["exact", "in"]
    if isinstance(field, models.GenericIPAddressField):
        return ["exact", "in", "istartswith"]
    if isinstance(field, models.CharField | models.TextField):
        return _TEXT_LOOKUPS
    if isinstance(
        field,
        models.IntegerField | models.FloatField | models.DecimalField | models.DateField
        | models.TimeField | models.DurationField,
    ):
        return _NUMERIC_LOOKUPS
    return ["exact"]


class IPAddressFilter(django_filters.CharFilter):
    """Rejects non-addresses with a 400 instead of letting the database choke on them."""

    field_class = forms.GenericIPAddressField


class IPAddressInFilter(django_filters.BaseInFilter, IPAddressFilter):
    pass


_BIGINT = 2**63 - 1


class BoundedIntegerField(forms.IntegerField):
    """Integers the database can compare with: out-of-range ids are a 400, not a crash."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", -_BIGINT - 1)
        kwargs.setdefault("max_value", _BIGINT)
        super().__init__(*args, **kwargs)


class IntegerFilter(django_filters.NumberFilter):
    field_class = BoundedIntegerField


class IntegerInFilter(django_filters.BaseInFilter, IntegerFilter):
    pass


_INTEGER_FIELDS = (models.IntegerField, models.AutoField, models.BigAutoField)


class BaseFilterSet(django_filters.FilterSet):
    """Declare ``Meta.model``; ``Meta.fields`` defaults to every filterable column."""

    @classmethod
    def filter_for_lookup(cls, field, lookup_type):
        filter_class, params = super().filter_for_lookup(field, lookup_type)
        if isinstance(field, models.GenericIPAddressField) and lookup_type == "exact":
            return IPAddressFilter, params
        if isinstance(field, models.GenericIPAddressField) and lookup_type == "in":
            return IPAddressInFilter, params
        if isinstance(field, _INTEGER_FIELDS) and not field.choices and filter_class in (
            django_filters.NumberFilter, django_filters.filters.NumberFilter
        ):
            return IntegerFilter, params
        if isinstance(field, _INTEGER_FIELDS) and not field.choices and lookup_type == "in":
            return IntegerInFilter, params
        return filter_class, params

    @classmethod
    def filter_for_field(cls, field, field_name, lookup_expr=None):
        declared = super().filter_for_field(field, field_name, lookup_expr)
        queryset = declared.extra.get("queryset")
        if queryset is not None and not callable(queryset):
            owner = cls._meta.model
            # Choices (and accepted ids) are only what the caller may see.
            declared.extra["queryset"] = lambda request, qs=queryset: tenancy.scope_related(
                qs, tenancy.principal_for(request), owner) if request is not None else qs.none()
        return declared

    @classmethod
    def get_fields(cls):
        if cls._meta.fields is None and cls._meta.exclude is None:
            return {f.name: lookups_for(f) for f in filterable_fields(cls._meta.model)}
        return super().get_fields()


def filterset_for(model: type[models.Model]) -> type[BaseFilterSet]:
    meta = type("Meta", (), {"model": model})
    return type(f"{model.__name__}FilterSet", (BaseFilterSet,), {"Meta": meta})


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, skipped when the query names none of the filters.

    Building and validating a filterset form costs about as much as the list
    query itself; with no filter parameter every filter is a no-op anyway.
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None or request.query_params.keys().isdisjoint(
            filterset_class.base_filters
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)
