"""Markdown report of schema, admin and API agreement; ``--check`` gates CI on 100%."""

from django.core.management.base import BaseCommand, CommandError

from core import registry


def _path(route: str) -> str:
    return "/" + route.replace("^", "").replace("$", "").split("(?P")[0]


def render(rows: list[registry.ModelCoverage], framework) -> str:
    covered = sum(r.covered for r in rows)
    pct = 100.0 * covered / len(rows) if rows else 100.0
    out = [
        "# Sync report",
        "",
        f"- Models: {len(rows)}",
        f"- Fully covered (admin + API with every required operation): {covered}",
        f"- Coverage: {pct:.1f}%",
        "",
        "| model | table | API resource | admin | list | retrieve | create | update | delete "
        "| append-only | declared operations | problems |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ops = row.operations
        resource = ", ".join(f"`{_path(r.route)}`" for r in row.resources) or "—"
        cells = [
            f"`{row.model._meta.label}`",
            f"`{row.model._meta.db_table}`",
            resource,
            "yes" if row.admin_registered else "**no**",
            *("yes" if op in ops else "—" for op in registry.OPERATIONS),
            "yes" if row.append_only else "no",
            ", ".join(op for op in registry.OPERATIONS if op in row.required_operations)
            if row.declared_operations or row.append_only else "all",
            "; ".join(row.problems) or "",
        ]
        out.append("| " + " | ".join(cells) + " |")
    out += [
        "",
        "## Framework models (provided by Django and libraries; not counted)",
        "",
        "| model | table | admin |",
        "|---|---|---|",
    ]
    from django.contrib import admin

    for model in framework:
        out.append(f"| `{model._meta.label}` | `{model._meta.db_table}` | "
                   f"{'yes' if admin.site.is_registered(model) else 'no'} |")
    return "\n".join(out) + "\n"


class Command(BaseCommand):
    help = "Report which models have admin and API coverage; --check fails below 100%."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true",
                            help="Exit non-zero unless every model is fully covered.")

    def handle(self, *args, check: bool = False, **options):
        rows = registry.coverage()
        self.stdout.write(render(rows, registry.framework_models()))
        failing = [r for r in rows if not r.covered]
        if check and failing:
            names = ", ".join(r.model._meta.label for r in failing)
            raise CommandError(f"Sync coverage below 100%: {names}")
