"""Install a marketplace component into a workspace from the shell (operators).

    manage.py marketplace_install --workspace 12 --component crm-follow-up \
        [--component-version 1.2.0] [--name "Follow-up (copy)"]

It acts as the system (no workspace role is asked), but the component's rules hold as
on every door: a paid component needs the workspace's purchase, yanked versions and
deprecated components are refused.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.admin.services import error_text
from core.api.errors import ApiError
from marketplace.models import MarketplaceComponent
from marketplace.services.installs import component_install
from workspaces.models import Workspace


class Command(BaseCommand):
    help = "Install a marketplace component into a workspace as a new draft workflow."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", type=int, required=True, help="Workspace id.")
        parser.add_argument("--component", required=True, help="Component slug.")
        parser.add_argument("--component-version", dest="component_version",
                            help="e.g. 1.2.0 (default: the latest not yanked).")
        parser.add_argument("--name", help="The workflow's name (default: the component's).")

    def handle(self, *args, workspace, component, component_version=None, name=None,
               **options):
        ws = Workspace.objects.filter(pk=workspace).first()
        if ws is None:
            raise CommandError(f"No workspace {workspace}.")
        found = MarketplaceComponent.objects.filter(slug=component).first()
        if found is None:
            raise CommandError(f"No component {component!r}.")
        try:
            installation = component_install(workspace=ws, component=found,
                                             version=component_version, name=name)
        except (ApiError, ValidationError) as exc:
            code = getattr(exc, "error_code", "invalid")
            raise CommandError(f"{code}: {error_text(exc)}") from exc
        self.stdout.write(f"Installed {found.name} {installation.version.version} in "
                          f"{ws} as workflow #{installation.workflow_id} "
                          f"({installation.workflow.name}).")
