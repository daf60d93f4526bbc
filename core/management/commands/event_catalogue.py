"""Write (or ``--check``) ``docs/events.md`` from the registered domain events."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.event_catalogue import render

DEFAULT_PATH = Path(settings.BASE_DIR) / "docs" / "events.md"


class Command(BaseCommand):
    help = ("Generate the domain event catalogue (names, versions, payload schemas); "
            "--check fails if it is stale.")

    def add_arguments(self, parser):
        parser.add_argument("--output", default=str(DEFAULT_PATH))
        parser.add_argument("--check", action="store_true",
                            help="Do not write; exit non-zero if the file differs.")

    def handle(self, *args, output: str, check: bool, **options):
        path = Path(output)
        text = render()
        if check:
            current = path.read_text() if path.exists() else ""
            if current != text:
                raise CommandError(f"{path} is stale: run `python manage.py event_catalogue`.")
            self.stdout.write(f"{path} is up to date.")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self.stdout.write(f"Wrote {path}.")
