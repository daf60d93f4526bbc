"""Re-encrypt every vault secret under the first key of SECRETS_ENCRYPTION_KEYS."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from workspaces.services.vault import secrets_rotate


class Command(BaseCommand):
    help = ("Re-encrypt all secrets with the newest key. Put the new key first in "
            "SECRETS_ENCRYPTION_KEYS, keep the old ones after it, run this, then drop them.")

    def handle(self, *args, **options):
        try:
            count = secrets_rotate()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} secret(s)."))
