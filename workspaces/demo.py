"""Two demo workspaces with a member of every role (idempotent)."""

from accounts.demo import DEFAULT_DEMO_PASSWORD as DEMO_PASSWORD
from accounts.models import User
from workspaces.models import Membership, Project, Workspace
from workspaces.services.workspaces import workspace_create

DEMO = {
    "acme-steel": ("Acme Steel", ["owner", "admin", "member", "viewer"]),
    "northwind-ai": ("Northwind AI", ["owner", "admin", "member", "viewer"]),
}


def seed(out) -> None:
    for slug, (name, roles) in DEMO.items():
        people = {}
        for role in roles:
            user, created = User.objects.get_or_create(
                email=f"{role}@{slug}.local",
                defaults={"first_name": role.title(), "last_name": name})
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            people[role] = user
        workspace = Workspace.objects.filter(slug=slug).first()
        if workspace is None:
            workspace = workspace_create(owner=people["owner"], name=name, slug=slug)
        for role, user in people.items():
            Membership.objects.get_or_create(workspace=workspace, user=user,
                                             defaults={"role": role})
        Project.objects.get_or_create(workspace=workspace, name="Monthly sales report",
                                      defaults={"description": "Demo project"})
    out.write("Demo workspaces: " + ", ".join(DEMO) +
              f" (members <role>@<workspace>.local, password {DEMO_PASSWORD})")
