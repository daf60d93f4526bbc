"""Model permissions for every verb, reads included (Django's default skips GET)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission, DjangoModelPermissions

from core import tenancy
from core.context import request_user


class ModelPermissions(DjangoModelPermissions):
    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": [],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }


class PublicReadPermission(ModelPermissions):
    """Global rows staff manage that every signed-in caller may read (models declaring
    ``public_read = True``, e.g. billing plans): reads need only a signed-in user or an
    API key; writes need Django's model permission, as on any staff-managed resource."""

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return tenancy.principal_for(request).is_authenticated
        return super().has_permission(request, view)


class TenantPermission(BasePermission):
    """Workspace roles, not Django model permissions, govern workspace-owned data.

    Reads need a visible row (the queryset is already scoped: others get 404);
    writes need the role the model requires in the row's workspace (403 when
    the row is visible but the role too low).
    """

    _ACTIONS = {"POST": "add", "PUT": "change", "PATCH": "change", "DELETE": "delete"}

    def has_permission(self, request, view) -> bool:
        return tenancy.principal_for(request).is_authenticated

    def has_object_permission(self, request, view, obj) -> bool:
        action = self._ACTIONS.get(request.method)
        if action is None:
            return True
        return tenancy.can(tenancy.principal_for(request), obj, action)


class CatalogueReadPermission(BasePermission):
    """Catalogue resources (models declaring ``catalogue = True``): global reference
    data any signed-in user or API key may read, whatever their workspace.

    Nobody writes: a catalogue viewset routes no write (405, like any append-only
    resource); should one ever offer a write, only superusers pass.
    """

    def has_permission(self, request, view) -> bool:
        principal = tenancy.principal_for(request)
        if request.method in SAFE_METHODS or not hasattr(view, request.method.lower()):
            return principal.is_authenticated
        return principal.sees_everything


class UserCredentialsRequired(BasePermission):
    """For views about the signed-in account itself (profile, sessions, password, 2FA).

    An API key acts for a workspace, not for a person, so it gets a clear 403
    instead of reaching code that needs a user row.
    """

    message = "This endpoint needs a signed-in user, not an API key."
    code = "user_credentials_required"

    def has_permission(self, request, view) -> bool:
        # Anonymous callers get False too, which DRF answers as 401 not_authenticated.
        return request_user(request) is not None
