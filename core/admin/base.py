"""ModelAdmin bases: safe on tables of millions of rows.

* no ``COUNT(*)`` of the whole table (``show_full_result_count`` off, bounded paginator);
* foreign keys in ``list_display`` are joined (``list_select_related``);
* foreign keys in forms use autocomplete (or a raw id), never a dropdown of every row;
* append-only models are viewable, never editable.
"""

from django.contrib import admin, messages
from django.contrib.admin import widgets
from django.contrib.admin.utils import unquote
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path

from core import tenancy
from core.api.errors import ApiError

from .paginator import BoundedCountPaginator


def _foreign_keys(model):
    return [f for f in model._meta.fields if f.is_relation and (f.many_to_one or f.one_to_one)]


class BaseModelAdmin(admin.ModelAdmin):
    show_full_result_count = False
    paginator = BoundedCountPaginator
    list_per_page = 50
    #: The admin's own pages about one row, ``{name: (route, view method name)}``: served at
    #: ``<object_id>/<route>`` behind the site's sign-in, named ``admin:<app>_<model>_<name>``;
    #: views fetch their row with ``get_object_or_404``.
    object_pages: dict[str, tuple[str, str]] = {}

    def __init__(self, model, admin_site):
        super().__init__(model, admin_site)
        if not self.list_select_related:
            shown = set(self.list_display)
            self.list_select_related = [f.name for f in _foreign_keys(model) if f.name in shown]

    # Tenancy: staff who are not superusers see and pick only their workspaces' rows.
    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if tenancy.is_scoped(self.model):
            queryset = tenancy.visible(queryset, tenancy.principal_for(request))
        return queryset

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # A save a service refuses (a plan limit, a state that forbids it) is a message on
        # the form, never an error page; the admin's transaction rolled back: nothing saved.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApiError as exc:
            self.message_user(request, f"Not saved: {exc.message}", messages.ERROR)
            return redirect(request.get_full_path())

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Django redirects to the index saying the row does not exist; another tenant's row
        # must be simply absent, as in the API: a 404, the same for unknown ids.
        raise Http404(f"No {opts.verbose_name} matches the given query.")

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        own = [path(f"<path:object_id>/{route}", self.admin_site.admin_view(getattr(self, view)),
                    name="{}_{}_{}".format(*info, name))
               for name, (route, view) in self.object_pages.items()]
        return [*own, *super().get_urls()]

    def get_object_or_404(self, request, object_id: str, queryset=None):
        """The row behind one of the admin's own object pages (a report, a download, a poll).

        Answers as the change page does: a row out of the caller's reach or an unknown
        or malformed id is a 404, a row the caller may not view a 403.
        """
        queryset = self.get_queryset(request) if queryset is None else queryset
        model = queryset.model
        try:
            obj = queryset.get(pk=model._meta.pk.to_python(unquote(object_id)))
        except (model.DoesNotExist, ValidationError, ValueError):
            raise Http404(f"No {model._meta.verbose_name} matches the given query.") from None
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        return obj

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and self._may(request, obj, "change")

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and self._may(request, obj, "delete")

    def _may(self, request, obj, action: str) -> bool:
        if obj is None or not tenancy.is_scoped(type(obj)):
            return True
        return tenancy.can(tenancy.principal_for(request), obj, action)

    def get_field_queryset(self, db, db_field, request):
        queryset = super().get_field_queryset(db, db_field, request)
        if queryset is None:
            queryset = db_field.remote_field.model._default_manager.using(db).all()
        if queryset.model is Permission:
            # A permission's name shows its content type: one query per choice without the join.
            queryset = queryset.select_related("content_type")
        principal = tenancy.principal_for(request)
        if db_field.name == "workspace" and tenancy.is_scoped(self.model):
            # Offer only workspaces where this role may create such rows.
            ids = tenancy.workspace_ids(principal, self.model, "add")
            return queryset if ids is None else queryset.filter(pk__in=ids)
        return tenancy.scope_related(queryset, principal, self.model)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and isinstance(obj, tenancy.WorkspaceScoped):
            fields.append("workspace")  # rows never move between tenants
        return fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if not issubclass(self.model, tenancy.WorkspaceScoped):
            return form

        class SameWorkspaceForm(form):
            def clean(self):
                cleaned = super().clean()
                workspace = cleaned.get("workspace") or getattr(self.instance, "workspace", None)
                for name, value in list(cleaned.items()):
                    related = list(value) if hasattr(value, "__iter__") and \
                        not isinstance(value, str | dict) else [value]
                    for item in related:
                        if isinstance(item, tenancy.WorkspaceScoped) and workspace and \
                                item.workspace_id != workspace.pk:
                            self.add_error(name, "This belongs to another workspace.")
                            break
                return cleaned

        return SameWorkspaceForm

    def get_autocomplete_fields(self, request):
        if self.autocomplete_fields:
            return self.autocomplete_fields
        # Decided per request: the related admin may register after this one.
        return [
            f.name
            for f in _foreign_keys(self.model)
            if f.editable and f.name not in self.raw_id_fields and self._searchable(f.related_model)
        ]

    def _searchable(self, model) -> bool:
        related_admin = self.admin_site._registry.get(model)
        return bool(related_admin and related_admin.search_fields)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if (
            "widget" not in kwargs
            and db_field.name not in self.get_autocomplete_fields(request)
            and db_field.name not in self.radio_fields
        ):
            kwargs["widget"] = widgets.ForeignKeyRawIdWidget(
                db_field.remote_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyModelAdmin(BaseModelAdmin):
    """For append-only models: list and view, no add, change or delete."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
