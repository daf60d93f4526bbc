"""Who may act for a workspace in the marketplace: one check for every door.

``principal=None`` and ``by=None`` is the system (a management command run by an
operator), already authorised.  Staff with the model's ``add`` permission act for any
workspace (the admin's "for a workspace" actions); everyone else needs the model's
role in the workspace (``tenancy_write_role``: admin to buy, member to install).
"""

from __future__ import annotations

from core import tenancy
from core.api.errors import ApiError


def is_marketplace_staff(user, model) -> bool:
    perm = f"{model._meta.app_label}.add_{model._meta.model_name}"
    return bool(user is not None and getattr(user, "is_active", False)
                and getattr(user, "is_staff", False) and user.has_perm(perm))


def require_role(workspace, model, *, by=None, principal=None, doing: str) -> None:
    """403 for a visible workspace and too low a role, 404 for an invisible one."""
    if principal is None and by is None:
        return
    if principal is None:
        principal = tenancy.Principal(user=by)
    if principal.api_key is None and is_marketplace_staff(principal.user, model):
        return
    if tenancy.can_in_workspace(principal, workspace, model, "add"):
        return
    if tenancy.can_in_workspace(principal, workspace, model, "view"):
        role = tenancy.required_role(model, "add")
        raise ApiError(403, "permission_denied",
                       f"Only a workspace {role} (or higher) may {doing}.",
                       errors={"workspace": [f"Needs the {role} role."]})
    raise ApiError(404, "not_found", "No such workspace.",
                   errors={"workspace": ["No such workspace in your reach."]})


def acting_user(by, principal):
    if principal is not None and principal.user is not None:
        return principal.user
    return by if getattr(by, "pk", None) else None
