"""Viewset bases: a concrete resource is a queryset and a serializer.

* filters and ordering derive from the model unless declared;
* writes run in one transaction;
* ``list`` takes the values()+orjson fast path whenever the serializer allows.
"""

from django.db import transaction
from rest_framework import viewsets

from .fastpath import ValuesPlan, plan_for
from .filters import filterable_fields, filterset_for


class ResourceMixin:
    #: Extra ``select_related`` for serializers that read through relations.
    select_related: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        queryset = getattr(cls, "queryset", None)
        if queryset is None:
            return
        model = queryset.model
        if "filterset_class" not in cls.__dict__ and not getattr(cls, "filterset_fields", None):
            cls.filterset_class = filterset_for(model)
        if "ordering_fields" not in cls.__dict__:
            cls.ordering_fields = [f.name for f in filterable_fields(model) if not f.is_relation]
        cls._values_plan = None
        cls._values_plan_ready = False

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.select_related:
            queryset = queryset.select_related(*self.select_related)
        return queryset

    def values_plan(self) -> ValuesPlan | None:
        cls = type(self)
        if not cls._values_plan_ready:
            cls._values_plan = plan_for(cls.serializer_class)
            cls._values_plan_ready = True
        if self.get_serializer_class() is not cls.serializer_class:
            return None
        return cls._values_plan

    def _ordering_keys(self, queryset) -> tuple[str, ...]:
        keys = {"id"}  # keyset pagination's default ordering
        for backend in self.filter_backends:
            if hasattr(backend, "get_ordering"):
                ordering = backend().get_ordering(self.request, queryset, self) or ()
                keys.update(o.lstrip("-") for o in ordering)
        return tuple(sorted(keys))

    def list(self, request, *args, **kwargs):
        plan = self.values_plan()
        if plan is None:
            return super().list(request, *args, **kwargs)
        queryset = self.filter_queryset(self.get_queryset())
        rows = plan.values(queryset, extra=self._ordering_keys(queryset))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(plan.render(page))


class ModelViewSet(ResourceMixin, viewsets.ModelViewSet):
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def perform_create(self, serializer):
        with transaction.atomic():
            serializer.save()

    def perform_update(self, serializer):
        with transaction.atomic():
            serializer.save()

    def perform_destroy(self, instance):
        with transaction.atomic():
            instance.delete()


class ReadOnlyModelViewSet(ResourceMixin, viewsets.ReadOnlyModelViewSet):
    """For append-only models: list and retrieve; writes answer 405."""


#: For resources offering a declared subset of operations (compose DRF mixins).
GenericViewSet = viewsets.GenericViewSet
