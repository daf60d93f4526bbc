"""Viewset bases: a concrete resource is a queryset and a serializer.

* filters and ordering derive from the model unless declared;
* writes run in one transaction;
* ``list`` takes the values()+orjson fast path whenever the serializer allows.
"""

from django.db import transaction
from rest_framework import viewsets
from rest_framework.exceptions import PermissionDenied

from core import tenancy

from .fastpath import ValuesPlan, plan_for
from .filters import filterable_fields, filterset_for
from .permissions import (
    CatalogueReadPermission,
    ModelPermissions,
    PublicReadPermission,
    TenantPermission,
    UserCredentialsRequired,
)


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
        many = [f.name for f in queryset.model._meta.many_to_many
                if f.name in self._serializer_field_names()]
        return queryset.prefetch_related(*many) if many else queryset

    @classmethod
    def _serializer_field_names(cls) -> frozenset[str]:
        names = cls.__dict__.get("_field_names")
        if names is None:
            fields = getattr(cls.serializer_class.Meta, "fields", ())
            if fields == "__all__":
                fields = [f.name for f in cls.queryset.model._meta.get_fields()]
            names = frozenset(fields)
            cls._field_names = names
        return names

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


class CatalogueViewSet(ReadOnlyModelViewSet):
    """Global reference data (``catalogue = True`` models): read by any signed-in caller."""

    permission_classes = [CatalogueReadPermission]


class StaffModelViewSet(ModelViewSet):
    """Global rows staff manage (no workspace): Django model permissions for every verb."""

    permission_classes = [ModelPermissions]


class PublicReadModelViewSet(ModelViewSet):
    """Global rows staff manage and every signed-in caller reads (``public_read = True``)."""

    permission_classes = [PublicReadPermission]


class OwnRowsModelViewSet(ModelViewSet):
    """Rows a signed-in user owns (``owner_field``, e.g. their variables or ratings): each
    user sees and changes their own; staff with the model's view permission see everyone's,
    and change or delete another's only with that permission.  Writes call the app's
    service from ``perform_*`` after ``require_owner``."""

    permission_classes = [UserCredentialsRequired]
    owner_field = "user"

    def get_queryset(self):
        queryset = super().get_queryset()
        user = getattr(self.request, "user", None)
        if getattr(self, "swagger_fake_view", False) or user is None or \
                not user.is_authenticated:
            return queryset.none()
        opts = queryset.model._meta
        if user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
            return queryset
        return queryset.filter(**{self.owner_field: user})

    def require_owner(self, obj, action: str) -> None:
        """Refuse ``action`` ("change", "delete") on another user's row without permission."""
        user = self.request.user
        opts = obj._meta
        if getattr(obj, f"{self.owner_field}_id") != user.pk and \
                not user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}"):
            raise PermissionDenied("Only its owner (or staff allowed to) may do this.")


#: For resources offering a declared subset of operations (compose DRF mixins).
GenericViewSet = viewsets.GenericViewSet


class ScopedMixin:
    """Workspace-owned resources: every queryset goes through ``core.tenancy.visible``.

    Creating needs the model's write role in the chosen workspace (403 if the
    workspace is visible but the role too low; an invisible workspace is
    refused by the serializer as a nonexistent object).
    """

    permission_classes = [TenantPermission]

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()  # schema generation: no request user
        return tenancy.visible(queryset, tenancy.principal_for(self.request))

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # A viewset that replaces perform_create has its service check the caller (e.g.
        # agents: a viewer with an edit grant may add a tool); the kernel's rule is early.
        if self.action == "create" and \
                type(self).perform_create is ScopedMixin.perform_create:
            self._check_create_role(request)

    def _check_create_role(self, request) -> None:
        # The role is checked before the body is validated, so a viewer learns nothing
        # from validation (e.g. that the workspace already has its one billing customer).
        # An invisible workspace is left to the serializer (400, as a nonexistent object).
        data = request.data if hasattr(request.data, "get") else {}
        workspace_id = data.get("workspace")
        if isinstance(workspace_id, int | str) and str(workspace_id).isdigit():
            principal = tenancy.principal_for(request)
            model = self.get_serializer_class().Meta.model
            workspace_model = model._meta.get_field("workspace").related_model \
                if any(f.name == "workspace" for f in model._meta.fields) else None
            workspace = workspace_model and tenancy.visible(
                workspace_model._default_manager.filter(pk=int(workspace_id)),
                principal).first()
            if workspace is not None and not tenancy.can_in_workspace(
                    principal, workspace, model, "add"):
                raise PermissionDenied("Your role in this workspace cannot create this.")

    def perform_create(self, serializer):
        workspace = serializer.validated_data.get("workspace")
        model = serializer.Meta.model
        if workspace is not None and not tenancy.can_in_workspace(
            tenancy.principal_for(self.request), workspace, model, "add"
        ):
            raise PermissionDenied("Your role in this workspace cannot create this.")
        with transaction.atomic():
            self.perform_scoped_create(serializer)

    def perform_scoped_create(self, serializer):
        serializer.save()


class ScopedModelViewSet(ScopedMixin, ModelViewSet):
    pass


class ScopedGenericViewSet(ScopedMixin, ResourceMixin, viewsets.GenericViewSet):
    """For resources that declare ``api_operations``: list DRF's mixins *after* this
    class, so the scoped ``perform_create`` wins: ``class X(ScopedGenericViewSet,
    mixins.ListModelMixin, ...)``."""


class ScopedReadOnlyModelViewSet(ScopedMixin, ReadOnlyModelViewSet):
    pass
