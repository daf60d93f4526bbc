"""Files: stored through Django's storage API with size, type and SHA-256 computed on upload."""

import hashlib
import mimetypes

from django.conf import settings
from django.core.exceptions import ValidationError

from workspaces.models import File


def file_store(*, workspace, upload, project=None, by=None, **fields) -> File:
    if upload.size > settings.FILE_UPLOAD_MAX_BYTES:
        raise ValidationError({"file": [f"Files may be at most "
                                        f"{settings.FILE_UPLOAD_MAX_BYTES // (1024 * 1024)} MB."]})
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    content_type = getattr(upload, "content_type", "") or \
        mimetypes.guess_type(upload.name)[0] or "application/octet-stream"
    name = fields.pop("name", "") or upload.name
    stored = File(workspace=workspace, project=project, name=name[:255], size=upload.size,
                  content_type=content_type[:120], checksum=digest.hexdigest(),
                  uploaded_by=by if getattr(by, "pk", None) else None, **fields)
    stored.file.save(upload.name, upload, save=False)
    stored.save()
    return stored
