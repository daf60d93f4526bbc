"""Write sample inventory and sales files in the predecessor's pipe-delimited format."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analytics.sample import generate


class Command(BaseCommand):
    help = "Generate 'estoque 1.csv' and 'faturamento 1.csv' sample files."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=17_345, help="Sales rows.")
        parser.add_argument("--inventory-rows", type=int, default=None,
                            help="Inventory rows (default: a twelfth of --rows).")
        parser.add_argument("--clients", type=int, default=None, help="Distinct client codes.")
        parser.add_argument("--seed", type=int, default=2024)
        parser.add_argument("--output", default="var/bi-sample", help="Directory to write.")

    def handle(self, *args, rows, inventory_rows, clients, seed, output, **options):
        if rows < 1 or (inventory_rows is not None and inventory_rows < 0):
            raise CommandError("--rows must be at least 1 and --inventory-rows not negative.")
        files = generate(Path(output), sales_rows=rows, inventory_rows=inventory_rows,
                         clients=clients, seed=seed)
        self.stdout.write(self.style.SUCCESS(
            f"Wrote {files.inventory} ({files.inventory_rows} rows) and {files.sales} "
            f"({files.sales_rows} rows), {len(files.client_codes)} clients."))
