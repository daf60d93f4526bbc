"""Files: stored through Django's storage API with size, type and SHA-256 computed on upload.

Stored bytes count to the plan's storage: an upload the plan cannot hold is refused
(402) before anything is written."""

import hashlib
import mimetypes

from django.core.exceptions import ValidationError

from billing import entitlements
from core import live_settings
from workspaces.models import File


def file_check_upload(upload) -> None:
    # The limit is a live setting staff change in the admin (core.live_settings).
    limit = live_settings.upload_max_bytes()
    if upload.size > limit:
        raise ValidationError({"file": [f"Files may be at most "
                                        f"{limit // (1024 * 1024)} MB."]})


def file_describe(stored: File, upload) -> None:
    """Set size, content type, checksum (and a missing name) from ``upload``."""
    file_check_upload(upload)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    stored.size, stored.checksum = upload.size, digest.hexdigest()
    stored.content_type = (getattr(upload, "content_type", "") or
                           mimetypes.guess_type(upload.name)[0] or
                           "application/octet-stream")[:120]
    stored.name = (stored.name or upload.name)[:255]


def file_store(*, workspace, upload, project=None, by=None, **fields) -> File:
    stored = File(workspace=workspace, project=project,
                  uploaded_by=by if getattr(by, "pk", None) else None, **fields)
    file_describe(stored, upload)
    entitlements.require(workspace.pk, "storage_bytes", stored.size)
    stored.file.save(upload.name, upload, save=False)
    stored.save()
    return stored


def file_replace(*, stored: File, upload) -> File:
    """New content for an existing file (staff in the admin): described again, then saved."""
    before = File.objects.filter(pk=stored.pk).values_list("size", flat=True).first() or 0
    file_describe(stored, upload)
    if stored.size > before:
        entitlements.require(stored.workspace_id, "storage_bytes", stored.size - before)
    stored.file.save(upload.name, upload, save=False)
    stored.save()
    return stored
