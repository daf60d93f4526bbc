"""``manage.py restore FOLDER [--database-url URL] [--force]``: into an empty database, verified."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core import backups


class Command(BaseCommand):
    help = ("Restore a backup folder into an EMPTY database and MEDIA_ROOT, then compare every "
            "table's row count and every media checksum with the manifest.")

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path, help="A folder written by manage.py backup.")
        parser.add_argument("--database-url", default=None,
                            help="Restore into this database instead of the configured one.")
        parser.add_argument("--force", action="store_true",
                            help="Overwrite media files that already exist in MEDIA_ROOT.")

    def handle(self, *args, folder: Path, database_url: str | None = None, force: bool = False,
               **options):
        try:
            report = backups.restore(folder, database_url=database_url, force=force)
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from exc
        width = max((len(c.table) for c in report.tables), default=5)
        self.stdout.write(f"{'table':<{width}}  {'manifest':>9}  {'restored':>9}")
        for check in report.tables:
            mark = "" if check.ok else "  MISMATCH"
            self.stdout.write(f"{check.table:<{width}}  {_n(check.expected):>9}  "
                              f"{_n(check.actual):>9}{mark}")
        self.stdout.write(f"media: {report.media_files - len(report.bad_media)}/"
                          f"{report.media_files} file(s) match their checksums")
        if not report.ok:
            bad = [c.table for c in report.tables if not c.ok] + report.bad_media
            raise CommandError(f"restore does not match the manifest: {', '.join(bad[:5])}",
                               returncode=1)
        self.stdout.write("restore verified against the manifest")


def _n(value: int | None) -> str:
    return "-" if value is None else str(value)
