"""Admin list filters whose choices respect tenancy and stay bounded on big tables."""

from django.contrib import admin

from core import tenancy

MAX_CHOICES = 500


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """Offers only related rows the staff member may see, at most ``MAX_CHOICES``."""

    def field_choices(self, field, request, model_admin):
        queryset = tenancy.scope_related(field.related_model._default_manager.all(),
                                         tenancy.principal_for(request), model_admin.model)
        ordering = self.field_admin_ordering(field, request, model_admin)
        if ordering:
            queryset = queryset.order_by(*ordering)
        return [(obj.pk, str(obj)) for obj in queryset[:MAX_CHOICES]]


admin.FieldListFilter.register(
    lambda f: f.remote_field is not None and not f.many_to_many and f.is_relation,
    ScopedRelatedFieldListFilter, take_priority=True)
