"""Membership policy: the kernel's tenancy asks this who belongs to which workspace.

Named in ``settings.TENANCY_POLICY``; ``core.tenancy`` never imports this app.
"""

from django.db.models import Q

from core import tenancy

from .models import ApiKey, Membership


class MembershipPolicy:
    def workspace_key(self, auth):
        return auth if isinstance(auth, ApiKey) else None

    def workspace_ids(self, user, model, action: str, role: str):
        granted = Q(role__in=tenancy.roles_at_least(role))
        if tenancy.RANK[role] <= tenancy.RANK[tenancy.MEMBER]:
            # Custom roles extend content rights only: never to managing members, keys,
            # secrets or the workspace itself, which would let an admin mint an owner.
            granted |= Q(
                custom_role__permissions__codename=f"{action}_{model._meta.model_name}",
                custom_role__permissions__content_type__app_label=model._meta.app_label)
        return Membership.objects.filter(granted, user=user).values("workspace_id")

    def member_workspace_ids(self, user):
        return Membership.objects.filter(user=user).values("workspace_id")

    def member_user_ids(self, workspace_ids):
        return Membership.objects.filter(workspace_id__in=workspace_ids).values("user_id")
