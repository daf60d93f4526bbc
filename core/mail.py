"""An email backend for development: each message becomes an ``.eml`` file.

Django's console backend prints every message whole, attachments base64-encoded
(a demo report email is ~1,000 lines), which buries the server's own output.
This one writes each message to ``EMAIL_FILE_PATH`` (``var/mail/`` by default)
as ``<UTC timestamp>-<subject>.eml``, a file any mail client opens, and logs
one INFO line per message (logger ``core.mail``): recipients, subject, path.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils.text import slugify

log = logging.getLogger(__name__)


class FolderEmailBackend(BaseEmailBackend):
    def __init__(self, *args, file_path=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.folder = Path(file_path or settings.EMAIL_FILE_PATH)
        self._lock = threading.RLock()

    def send_messages(self, email_messages) -> int:
        sent = 0
        with self._lock:
            for message in email_messages:
                if not message.recipients():
                    continue
                try:
                    path = self._write(message)
                except OSError:
                    if not self.fail_silently:
                        raise
                    continue
                log.info("%s", summary(message, path))
                sent += 1
        return sent

    def _write(self, message) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        stem = f"{stamp}-{slugify(message.subject)[:60] or 'no-subject'}"
        data = message.message().as_bytes(linesep="\n")
        for n in range(1000):
            path = self.folder / (f"{stem}.eml" if n == 0 else f"{stem}-{n}.eml")
            try:
                with path.open("xb") as out:  # never overwrite another message
                    out.write(data)
                return path
            except FileExistsError:
                continue
        raise OSError(f"no free file name for {stem}.eml in {self.folder}")


def summary(message, path: Path) -> str:
    """``mail to a@x, b@y: "Subject" (2 attachments) -> var/mail/....eml``"""
    try:
        shown = path.relative_to(Path.cwd())
    except ValueError:
        shown = path
    attachments = len(message.attachments)
    extra = f" ({attachments} attachment{'s' if attachments != 1 else ''})" if attachments else ""
    subject = message.subject.encode("utf-8", "backslashreplace").decode("utf-8")
    return f"mail to {', '.join(message.recipients())}: \"{subject}\"{extra} -> {shown}"
