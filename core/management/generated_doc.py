"""A command that writes a document generated from the code, or ``--check``s that the
committed copy is current (CI runs the checks in ``make check``)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class GeneratedDocCommand(BaseCommand):
    """Subclasses name ``default_path`` (below BASE_DIR) and implement ``render()``."""

    default_path = ""  # e.g. "docs/events.md"

    def render(self) -> str:
        raise NotImplementedError

    def add_arguments(self, parser):
        parser.add_argument("--output", default=str(Path(settings.BASE_DIR) / self.default_path))
        parser.add_argument("--check", action="store_true",
                            help="Do not write; exit non-zero if the file differs.")

    def handle(self, *args, output: str, check: bool, **options):
        path = Path(output)
        text = self.render()
        if check:
            current = path.read_text() if path.exists() else ""
            if current != text:
                name = Path(self.__module__.replace(".", "/")).name
                raise CommandError(f"{path} is stale: run `python manage.py {name}`.")
            self.stdout.write(f"{path} is up to date.")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self.stdout.write(f"Wrote {path}.")
