"""Installing a component version into a workspace, and upgrading an installation.

* **Install** imports the version's payload with ``workflow_import``: a new *draft*
  workflow (never published or deployed by the install), all or nothing.  A name
  already used in the workspace is the import's 400 naming ``name``: pass another.
  Secrets are not part of a payload (refused at publish): the workflow's expressions
  read the installing workspace's own vault when it runs.
* **Upgrade** replaces the installed workflow's *draft graph* (nodes, connections,
  settings) with the newer version's, keeping the workflow itself: its id, name,
  triggers, deployments, executions and **published versions, which are never
  touched** (production keeps running the version it runs until someone publishes the
  new draft).  A draft edited since the install or last upgrade is not overwritten
  unless ``force`` (409 ``draft_changed``).  A deleted workflow cannot be upgraded
  (409 ``workflow_deleted``: install again).
* **Paid components** need the workspace's purchase on every door (402
  ``purchase_required``); yanked versions are never installed or upgraded to;
  deprecated components are not newly installed (409 ``deprecated``) but their
  installations keep working and may still upgrade.
* Each install and upgrade writes a ``ComponentDownload`` and counts on the
  component's ``downloads_count``.

Installing and upgrading need a workspace member (``ComponentInstallation.
tenancy_write_role``) or marketplace staff.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core import events
from core.api.errors import ApiError
from workflows.graph import graph_problems
from workflows.models import Workflow
from workflows.services import definitions
from workflows.snapshot import SETTINGS, checksum, graph_snapshot

from ..events import INSTALLED, UPGRADED
from ..models import (
    ComponentDownload,
    ComponentInstallation,
    ComponentVersion,
    MarketplaceComponent,
)
from .access import acting_user, require_role
from .catalogue import latest_installable
from .purchases import require_purchase

Status = MarketplaceComponent.Status


def _version_for(component: MarketplaceComponent, version) -> ComponentVersion:
    if version is None:
        found = latest_installable(component)
        if found is None:
            raise ApiError(409, "no_version", f"{component.name} has no installable version.",
                           errors={"version": ["No version to install."]})
        return found
    if isinstance(version, str):
        found = ComponentVersion.objects.filter(component=component,
                                                version=version.strip()).first()
    else:
        found = version if version.component_id == component.pk else None
    if found is None:
        raise ValidationError({"version": [f"{component.name} has no version {version}."]})
    if found.yanked:
        raise ApiError(409, "version_yanked", f"{component.name} {found.version} was "
                       f"withdrawn: {found.yanked_reason}",
                       errors={"version": ["This version was yanked."]})
    return found


def _download(installation, version, kind: str, by, from_version: str = "") -> None:
    ComponentDownload.objects.create(workspace_id=installation.workspace_id,
                                     component_id=installation.component_id,
                                     version=version, installation=installation, kind=kind,
                                     from_version=from_version, by=by)
    MarketplaceComponent.objects.filter(pk=installation.component_id).update(
        downloads_count=F("downloads_count") + 1)


def _activity(installation, by, verb: str, summary: str, **data) -> None:
    from workspaces.services.workspaces import activity_record

    activity_record(workspace=installation.workspace, actor=by, verb=verb, summary=summary,
                    target=installation, data={"component": installation.component.slug,
                                               **data})


@transaction.atomic
def component_install(*, workspace, component: MarketplaceComponent, version=None,
                      name: str | None = None, by=None,
                      principal=None) -> ComponentInstallation:
    """Install ``version`` (default: the latest not yanked) as a new draft workflow."""
    require_role(workspace, ComponentInstallation, by=by, principal=principal,
                 doing="install marketplace components")
    component = MarketplaceComponent.objects.get(pk=component.pk)
    if component.status == Status.DEPRECATED:
        raise ApiError(409, "deprecated", f"{component.name} is deprecated: it can no longer "
                       "be installed (installed copies keep working).",
                       errors={"component": ["Deprecated."]})
    if component.status != Status.PUBLISHED:
        raise ApiError(409, "not_published", f"{component.name} is not published.",
                       errors={"component": ["Not published."]})
    require_purchase(workspace.pk, component)
    chosen = _version_for(component, version)
    user = acting_user(by, principal)
    workflow = definitions.workflow_import(workspace=workspace, data=chosen.payload, by=user,
                                           name=name)
    installation = ComponentInstallation.objects.create(
        workspace=workspace, component=component, version=chosen, workflow=workflow,
        installed_by=user, draft_checksum=checksum(graph_snapshot(workflow)))
    _download(installation, chosen, ComponentDownload.Kind.INSTALL, user)
    _activity(installation, user, "marketplace.component.installed",
              f"Installed {component.name} {chosen.version} as workflow {workflow.name}",
              version=chosen.version, workflow=workflow.pk)
    events.emit(INSTALLED, {"component": component.pk, "slug": component.slug,
                            "installation": installation.pk, "version": chosen.version,
                            "workflow": workflow.pk}, workspace_id=workspace.pk)
    return installation


def _replace_draft(workflow: Workflow, payload: dict) -> None:
    """The workflow's draft graph and settings become ``payload``'s (all or nothing)."""
    graph, nodes, connections, settings = definitions._import_shape(payload)
    problems = graph_problems(graph)
    if problems:
        raise definitions._refuse(problems, "upgrade")
    for node in list(workflow.nodes.all()):
        definitions.node_delete(node)  # its connections go with it
    fields = {k: settings[k] for k in SETTINGS if k in settings}
    if fields:
        definitions.workflow_update(workflow, **fields)
    made = {}
    for item in nodes:
        key = item.get("key")
        position = item.get("position") or [0, 0]
        made[key] = definitions.node_create(
            workflow=workflow, key=key, position_x=position[0], position_y=position[1],
            **{k: item[k] for k in definitions._NODE_FIELDS if k in item})
    for item in connections:
        definitions.connection_create(workflow=workflow, source=made[item["source"]],
                                      target=made[item["target"]],
                                      source_output=item.get("source_output") or "main",
                                      target_input=item.get("target_input") or "main")


@transaction.atomic
def installation_upgrade(installation: ComponentInstallation, *, version=None,
                         force: bool = False, by=None, principal=None) -> ComponentInstallation:
    """Move ``installation`` to ``version`` (default: the latest not yanked)."""
    require_role(installation.workspace, ComponentInstallation, by=by, principal=principal,
                 doing="upgrade marketplace components")
    row = (ComponentInstallation.objects.select_for_update(of=("self",))
           .select_related("component", "version", "workspace").get(pk=installation.pk))
    component = row.component
    if component.status not in (Status.PUBLISHED, Status.DEPRECATED):
        raise ApiError(409, "not_published", f"{component.name} is not published.",
                       errors={"component": ["Not published."]})
    require_purchase(row.workspace_id, component)
    target = _version_for(component, version)
    if target.sequence <= row.version.sequence:
        raise ApiError(409, "up_to_date", f"{target.version} is not newer than the installed "
                       f"{row.version.version}.", errors={"version": ["Not newer."]})
    workflow = Workflow.objects.select_for_update().filter(pk=row.workflow_id).first() \
        if row.workflow_id else None
    if workflow is None:
        raise ApiError(409, "workflow_deleted", "The installed workflow was deleted: install "
                       "the component again.", errors={"workflow": ["Deleted."]})
    if not force and row.draft_checksum and \
            checksum(graph_snapshot(workflow)) != row.draft_checksum:
        raise ApiError(409, "draft_changed", f"The draft of {workflow.name} was edited since "
                       f"{row.version.version} was installed; upgrading replaces it. Publish "
                       "or copy it first, then upgrade with force.",
                       errors={"force": ["Set force to replace the edited draft."]})
    _replace_draft(workflow, target.payload)
    user = acting_user(by, principal)
    previous = row.version.version
    row.version, row.upgraded_at = target, timezone.now()
    row.draft_checksum = checksum(graph_snapshot(workflow))
    row.save(update_fields=["version", "upgraded_at", "draft_checksum", "updated_at"])
    _download(row, target, ComponentDownload.Kind.UPGRADE, user, from_version=previous)
    _activity(row, user, "marketplace.component.upgraded",
              f"Upgraded {component.name} from {previous} to {target.version}",
              version=target.version, from_version=previous, workflow=workflow.pk)
    events.emit(UPGRADED, {"component": component.pk, "slug": component.slug,
                           "installation": row.pk, "version": target.version,
                           "from_version": previous, "workflow": workflow.pk},
                workspace_id=row.workspace_id)
    installation.version, installation.upgraded_at = row.version, row.upgraded_at
    installation.draft_checksum = row.draft_checksum
    return row
