"""Re-encrypt every secret at rest under the first key of SECRETS_ENCRYPTION_KEYS: the
workspace vault's secrets and the users' secret variables (one key ring for both)."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from accounts.services.variables import variables_rotate
from workspaces.services.vault import reencryptors, secrets_rotate


class Command(BaseCommand):
    help = ("Re-encrypt all secrets (vault secrets and secret user variables) with the "
            "newest key. Put the new key first in SECRETS_ENCRYPTION_KEYS, keep the old ones "
            "after it, run this, then drop them.")

    def handle(self, *args, **options):
        try:
            count = secrets_rotate()
            variables = variables_rotate()
            others = [(what, reencrypt()) for what, reencrypt in reencryptors()]
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} secret(s)."))
        self.stdout.write(self.style.SUCCESS(
            f"Re-encrypted {variables} secret user variable(s)."))
        for what, done in others:  # apps registered with vault.register_reencryptor
            self.stdout.write(self.style.SUCCESS(f"Re-encrypted {done} {what}(s)."))
