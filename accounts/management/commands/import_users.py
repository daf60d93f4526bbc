"""``manage.py import_users users.csv``: bring predecessor users over with their passwords."""

from django.core.management.base import BaseCommand, CommandError

from accounts.services.email_flows import email_verification_send
from accounts.services.imports import users_import


class Command(BaseCommand):
    help = (
        "Import predecessor users from a CSV with a header row: email, name (full name; the "
        "first word becomes first_name, the rest last_name), password_hash (raw bcrypt such "
        "as $2b$12$... or any Django-format hash), is_staff (true/false), created_at (ISO 8601 "
        "date or datetime, UTC if no zone). All or nothing: any bad line loads nothing and "
        "is reported with its line number. Emails that already have an account are skipped "
        "(not updated), so re-running is safe. No email is sent unless --send-welcome."
    )

    def add_arguments(self, parser):
        parser.add_argument("csv_path")
        parser.add_argument("--send-welcome", action="store_true",
                            help="Email each new user the address confirmation link.")

    def handle(self, *args, csv_path, send_welcome=False, **options):
        try:
            with open(csv_path, newline="", encoding="utf-8-sig") as stream:
                result = users_import(stream=stream)
        except OSError as exc:
            raise CommandError(f"cannot read {csv_path}: {exc}") from exc
        if result.errors:
            for error in result.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{len(result.errors)} bad line(s); nothing was imported.")
        if send_welcome:
            for user in result.created:
                email_verification_send(user=user)
        self.stdout.write(f"Imported {len(result.created)} user(s); skipped "
                          f"{len(result.skipped)} existing.")
