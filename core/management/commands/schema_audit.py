"""``manage.py schema_audit [--json] [--database NAME]``: the live database against the models."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, NotSupportedError

from core.schema_audit import audit


class Command(BaseCommand):
    help = ("Compare the live database with the models: tables, column types, nullability, "
            "defaults, indexes, constraints, foreign keys; list what nobody declared. "
            "Exits non-zero on any difference.")

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help="Print the report as JSON.")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS,
                            help="The database alias to audit (default: %(default)s).")

    def handle(self, *args, as_json: bool = False, database: str = DEFAULT_DB_ALIAS, **options):
        try:
            report = audit(database)
        except NotSupportedError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(report.as_dict(), indent=2, sort_keys=True) if as_json
                          else report.as_text())
        if not report.ok:
            raise CommandError(f"the database differs from the models in "
                               f"{len(report.findings)} place(s); see the report above",
                               returncode=1)

