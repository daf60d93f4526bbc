"""``manage.py backup [--dir DIR] [--keep N]``: database dump + media archive + manifest."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core import backups


class Command(BaseCommand):
    help = ("Back up the database (pg_dump custom format, or SQLite's online backup) and "
            "MEDIA_ROOT into a UTC-timestamped folder with a manifest of row counts and "
            "media checksums.")

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, default=None,
                            help="Where backup folders go "
                                 "(default: BACKUP_DIR, else VAR_DIR/backups).")
        parser.add_argument("--keep", type=int, default=None,
                            help="Keep only the newest N backup folders, deleting older ones.")

    def handle(self, *args, dir: Path | None = None, keep: int | None = None, **options):
        try:
            folder = backups.backup(dir, keep=keep)
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"backup written to {folder}")
