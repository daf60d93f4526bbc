"""Projects: created and changed with an entry in the workspace's activity feed.

The API, the admin and anything else that writes a project call these, so the
feed shows every project whoever made it and through whichever door.
"""

from __future__ import annotations

from django.db import transaction

from workspaces.models import Project

from .workspaces import activity_record

#: Bookkeeping columns that never count as a change worth a feed entry.
_NOT_CHANGES = {"id", "created_at", "updated_at"}


def _user(by):
    return by if getattr(by, "pk", None) else None


def project_create(*, workspace, name: str, by=None, tags=None, **fields) -> Project:
    return project_save(Project(workspace=workspace, name=name, **fields), by=by, tags=tags)


def project_update(*, project: Project, by=None, tags=None, **fields) -> Project:
    for name, value in fields.items():
        setattr(project, name, value)
    return project_save(project, by=by, tags=tags)


@transaction.atomic
def project_save(project: Project, *, by=None, tags=None) -> Project:
    """Validate and save a new or changed project and record it in the activity feed.

    The admin passes the instance its form built; ``tags=None`` leaves them alone.
    """
    creating = project.pk is None
    if creating and project.created_by_id is None:
        project.created_by = _user(by)
    changed = [] if creating else _changed_fields(project)
    project.full_clean()
    project.save()
    if tags is not None:
        before = set(project.tags.values_list("pk", flat=True))
        project.tags.set(tags)
        if not creating and before != {tag.pk for tag in tags}:
            changed.append("tags")
    if creating:
        activity_record(workspace=project.workspace, actor=by, verb="project.created",
                        summary=f"Project {project} created", target=project)
    elif changed:
        activity_record(workspace=project.workspace, actor=by, verb="project.updated",
                        summary=f"Project {project} changed: {', '.join(changed)}",
                        target=project, data={"fields": changed})
    return project


def _changed_fields(project: Project) -> list[str]:
    fields = [f for f in Project._meta.concrete_fields if f.name not in _NOT_CHANGES]
    stored = Project.objects.filter(pk=project.pk).values(*(f.attname for f in fields)).first()
    if stored is None:
        return []
    return [f.name for f in fields if stored[f.attname] != getattr(project, f.attname)]
