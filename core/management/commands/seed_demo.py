"""Load demo data: each local app's ``demo.seed()``, idempotent, for local use only."""

from importlib import import_module
from importlib.util import find_spec

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction


class Command(BaseCommand):
    help = "Create demo data (idempotent). Refuses to run with DEBUG off unless --force."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true",
                            help="Seed even though DEBUG is off (never on production).")

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates known passwords; it runs only with "
                               "DJANGO_DEBUG=true (or --force).")
        with transaction.atomic():
            for app in settings.LOCAL_APPS:
                if find_spec(f"{app}.demo"):
                    import_module(f"{app}.demo").seed(self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
