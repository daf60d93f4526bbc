"""Two demo workspaces with a member of every role (idempotent)."""

from accounts.models import User
from workspaces.models import Membership, Project, Workspace
from workspaces.services.workspaces import workspace_create

DEMO = {
    "acme-steel": ("Acme Steel", ["owner", "admin", "member", "viewer"]),
    "northwind-ai": ("Northwind AI", ["owner", "admin", "member", "viewer"]),
}


def seed(out) -> None:
    for slug, (name, roles) in DEMO.items():
        people = {role: User.objects.get_or_create(
            email=f"{role}@{slug}.local",
            defaults={"first_name": role.title(), "last_name": name})[0] for role in roles}
        for user in people.values():
            if not user.has_usable_password():
                user.set_password("synapscale-demo")
                user.save(update_fields=["password"])
        workspace = Workspace.objects.filter(slug=slug).first()
        if workspace is None:
            workspace = workspace_create(owner=people["owner"], name=name, slug=slug)
        for role, user in people.items():
            Membership.objects.get_or_create(workspace=workspace, user=user,
                                             defaults={"role": role})
        Project.objects.get_or_create(workspace=workspace, name="Monthly sales report",
                                      defaults={"description": "Demo project"})
    out.write("Demo workspaces: " + ", ".join(DEMO) +
              " (members <role>@<workspace>.local, password synapscale-demo)")
