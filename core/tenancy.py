"""Tenancy: the one answer to "which rows may this user or API key see, and do what".

Every workspace-owned model subclasses ``WorkspaceScoped`` (a ``workspace``
foreign key).  ``visible()`` narrows any queryset to what a principal may
see or change; viewsets, admin changelists, filter choices, autocompletes and
serializer related fields all call it, so no queryset reaches a caller
unscoped.  Other tenants' rows are simply absent: they answer 404.

Roles rank owner > admin > member > viewer.  Viewers read; members write
content; admins manage members, invitations, keys, features and secrets
(models declare ``tenancy_write_role = "admin"``); owners delete or transfer
the workspace.  A membership's custom role adds Django permissions
(``<action>_<model>``) on top of its base role.
"""

from dataclasses import dataclass

from django.db import models

VIEWER, MEMBER, ADMIN, OWNER = "viewer", "member", "admin", "owner"
RANK = {VIEWER: 0, MEMBER: 1, ADMIN: 2, OWNER: 3}
ACTIONS = ("view", "add", "change", "delete")


class WorkspaceScoped(models.Model):
    """Abstract base of every workspace-owned row."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE,
                                  related_name="+")

    #: The least role that may add, change or delete rows of the model.
    tenancy_write_role = MEMBER

    class Meta:
        abstract = True


def is_scoped(model) -> bool:
    from workspaces.models import Workspace

    return model is Workspace or issubclass(model, WorkspaceScoped)


def roles_at_least(role: str) -> list[str]:
    return [r for r, rank in RANK.items() if rank >= RANK[role]]


def required_role(model, action: str) -> str:
    from workspaces.models import Workspace

    if action == "view":
        return VIEWER
    if model is Workspace:
        return OWNER if action == "delete" else ADMIN
    return getattr(model, "tenancy_write_role", MEMBER)


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in user, or an API key acting for one workspace."""

    user: object = None
    api_key: object = None

    @property
    def is_authenticated(self) -> bool:
        return self.api_key is not None or bool(self.user and self.user.is_authenticated)

    @property
    def sees_everything(self) -> bool:
        return self.api_key is None and bool(self.user and self.user.is_superuser)


def principal_for(request) -> Principal:
    from workspaces.models import ApiKey

    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiKey):
        return Principal(api_key=auth)
    user = getattr(request, "user", None)
    return Principal(user=user if user is not None and user.is_authenticated else None)


def workspace_ids(principal: Principal, model, action: str = "view"):
    """Ids of workspaces where ``principal`` may do ``action`` on ``model`` (None: all)."""
    from workspaces.models import Membership

    if principal.sees_everything:
        return None
    role = required_role(model, action)
    if principal.api_key is not None:
        key = principal.api_key
        return [key.workspace_id] if RANK[key.role] >= RANK[role] else []
    if principal.user is None:
        return []
    granted = models.Q(role__in=roles_at_least(role))
    if RANK[role] <= RANK[MEMBER]:
        # Custom roles extend content rights only: never to managing members, keys,
        # secrets or the workspace itself, which would let an admin mint an owner.
        codename = f"{action}_{model._meta.model_name}"
        granted |= models.Q(
            custom_role__permissions__codename=codename,
            custom_role__permissions__content_type__app_label=model._meta.app_label)
    return Membership.objects.filter(granted, user=principal.user).values("workspace_id")


def visible(queryset, principal: Principal, action: str = "view"):
    """``queryset`` narrowed to the rows ``principal`` may ``action``."""
    from workspaces.models import Workspace

    ids = workspace_ids(principal, queryset.model, action)
    if ids is None:
        return queryset
    field = "pk" if queryset.model is Workspace else "workspace_id"
    return queryset.filter(**{f"{field}__in": ids})


def can(principal: Principal, obj, action: str) -> bool:
    return visible(type(obj)._default_manager.filter(pk=obj.pk), principal, action).exists()


def can_in_workspace(principal: Principal, workspace, model, action: str) -> bool:
    ids = workspace_ids(principal, model, action)
    if ids is None:
        return True
    if isinstance(ids, list):
        return workspace.pk in ids
    return ids.filter(workspace_id=workspace.pk).exists()


def visible_users(principal: Principal):
    """Users sharing a workspace with ``principal`` (all users for superusers)."""
    from django.contrib.auth import get_user_model

    from workspaces.models import Membership

    users = get_user_model()._default_manager.all()
    if principal.sees_everything:
        return users
    if principal.api_key is not None:
        ids = [principal.api_key.workspace_id]
    elif principal.user is None:
        return users.none()
    else:
        ids = Membership.objects.filter(user=principal.user).values("workspace_id")
    return users.filter(pk__in=Membership.objects.filter(workspace_id__in=ids).values("user_id"))


def scope_related(queryset, principal: Principal, owner_model=None):
    """A related-object queryset narrowed for ``principal``: the one rule for pickers.

    Workspace-owned targets are narrowed to visible rows; users, when picked
    for a workspace-owned row, to people sharing a workspace with the caller.
    """
    from django.contrib.auth import get_user_model

    queryset = queryset.all()  # managers too
    if is_scoped(queryset.model):
        return visible(queryset, principal)
    if owner_model is not None and is_scoped(owner_model) and \
            queryset.model is get_user_model():
        if principal.sees_everything:
            return queryset
        return queryset.filter(pk__in=visible_users(principal).values("pk"))
    return queryset
