"""Serializer base: the model's own ``full_clean()`` runs on every write."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from rest_framework import serializers
from rest_framework.settings import api_settings

from core import tenancy
from core.models import sensitive_fields


class BaseModelSerializer(serializers.ModelSerializer):
    """Validates like the admin does: field, model ``clean()`` and constraint checks.

    Subclasses list ``Meta.fields``; fields named in the model's
    ``sensitive_fields`` are dropped from output whatever ``fields`` says.
    """

    def get_fields(self):
        fields = super().get_fields()
        hidden = sensitive_fields(self.Meta.model)
        fields = {name: f for name, f in fields.items() if name not in hidden or f.write_only}
        if self.instance is not None and "workspace" in fields and \
                issubclass(self.Meta.model, tenancy.WorkspaceScoped):
            # Rows never move between tenants: their related rows would stay behind.
            fields["workspace"].read_only = True
        self._scope_related_fields(fields)
        return fields

    def _scope_related_fields(self, fields) -> None:
        """Related fields only accept rows the caller may see (closes the DRF create() hole)."""
        request = self.context.get("request")
        if request is None:
            return
        principal = tenancy.principal_for(request)
        for field in fields.values():
            target = getattr(field, "child_relation", field)
            queryset = getattr(target, "queryset", None)
            if queryset is not None:
                target.queryset = tenancy.scope_related(queryset, principal, self.Meta.model)

    def build_standard_field(self, field_name, model_field):
        """Integer bounds are PostgreSQL's (production) whatever the database in use,
        so SQLite development validates like production and the schema is one."""
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        if isinstance(model_field, models.IntegerField) and "choices" not in kwargs:
            from django.db.backends.base.operations import BaseDatabaseOperations

            low, high = BaseDatabaseOperations.integer_field_ranges.get(
                model_field.get_internal_type(), (None, None))
            if low is not None and not kwargs.get("read_only"):
                kwargs["min_value"] = max(kwargs.get("min_value", low), low)
                kwargs["max_value"] = min(kwargs.get("max_value", high), high)
        return field_class, kwargs

    def validate(self, attrs):
        attrs = super().validate(attrs)
        self._check_same_workspace(attrs)
        model = self.Meta.model
        many_to_many = {f.name for f in model._meta.many_to_many}
        values = {k: v for k, v in attrs.items() if k not in many_to_many}
        if self.instance is None:
            instance = model(**values)
        else:
            instance = model._default_manager.get(pk=self.instance.pk)
            for name, value in values.items():
                setattr(instance, name, value)
        try:
            # Uniqueness is checked by DRF's own validators, which name the field.
            instance.full_clean(exclude=self._clean_exclude(), validate_unique=False)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(_as_drf_detail(exc)) from exc
        for field in model._meta.fields:
            # Fields that normalise what they accept (e.g. phone numbers to E.164) save
            # the cleaned value, as the admin's forms do.
            if getattr(field, "normalizes", False) and field.name in attrs:
                attrs[field.name] = getattr(instance, field.attname)
        return attrs

    def _check_same_workspace(self, attrs) -> None:
        """Objects referenced by a workspace-owned row must belong to its workspace."""
        model = self.Meta.model
        if not issubclass(model, tenancy.WorkspaceScoped):
            return
        workspace = attrs.get("workspace") or getattr(self.instance, "workspace", None)
        if workspace is None:
            return
        for name, value in attrs.items():
            related = value if isinstance(value, list | tuple) else [value]
            for obj in related:
                if isinstance(obj, tenancy.WorkspaceScoped) and obj.workspace_id != workspace.pk:
                    raise serializers.ValidationError(
                        {name: ["This object belongs to another workspace."]})

    def _clean_exclude(self) -> list[str]:
        # Fields the serializer does not write are not the caller's to fix; sensitive
        # fields (passwords, secrets) are set by dedicated code, not assigned raw.
        writable = {n for n, f in self.fields.items() if not f.read_only}
        hidden = sensitive_fields(self.Meta.model)
        return [f.name for f in self.Meta.model._meta.fields
                if f.name not in writable or f.name in hidden]


def _as_drf_detail(exc: DjangoValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return {
            (api_settings.NON_FIELD_ERRORS_KEY if k == "__all__" else k): v
            for k, v in exc.message_dict.items()
        }
    return {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
