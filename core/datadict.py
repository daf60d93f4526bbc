"""The data dictionary, generated from the models (the one source of truth).

Column types are PostgreSQL's (the production database) whatever database the
generating process is connected to, so the committed file is the same
everywhere.
"""

from enum import Enum

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper
from django.db.models.fields import NOT_PROVIDED


def _postgres_connection():
    # Never connects: only its type mapping and quoting are used.
    return PostgresWrapper({**settings.DATABASES["default"],
                            "ENGINE": "django.db.backends.postgresql", "NAME": "datadict",
                            "OPTIONS": {}, "TIME_ZONE": None, "CONN_MAX_AGE": 0,
                            "CONN_HEALTH_CHECKS": False, "AUTOCOMMIT": True,
                            "ATOMIC_REQUESTS": False}, alias="datadict")


def _default(field: models.Field) -> str:
    if field.db_default is not NOT_PROVIDED:
        return f"`{field.db_default}` (database)"
    if field.default is NOT_PROVIDED:
        if getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False):
            return "now"
        return ""
    default = field.default
    if callable(default):
        return f"`{getattr(default, '__name__', repr(default))}()`"
    if isinstance(default, Enum):
        default = default.value
    return f"`{default!r}`"


def _constraints(field: models.Field, connection) -> list[str]:
    found = []
    if field.primary_key:
        found.append("primary key")
    elif field.unique:
        found.append("unique")
    if field.many_to_one or field.one_to_one:
        target = field.related_model._meta.db_table
        found.append(f"FK → `{target}` ({field.remote_field.on_delete.__name__})")
    if field.choices:
        found.append("one of " + ", ".join(f"`{v}`" for v, _ in field.flatchoices))
    check = field.db_check(connection)
    if check:
        found.append(f"CHECK ({check})")
    if field.db_index and not field.unique and not field.primary_key:
        found.append("indexed")
    return found


def _table_section(model, connection) -> list[str]:
    meta = model._meta
    doc = (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else ""
    if doc.startswith(f"{model.__name__}("):
        doc = ""
    lines = [f"### `{meta.db_table}`", "",
             f"Model `{meta.label}`" + (f": {doc}" if doc else ""), ""]
    lines += ["| column | type | null | default | constraints | description |",
              "|---|---|---|---|---|---|"]
    for field in meta.concrete_fields:
        db_type = field.db_type(connection) or ""
        help_text = str(field.help_text or field.verbose_name).replace("|", "\\|")
        lines.append(
            f"| `{field.column}` | `{db_type}` | {'yes' if field.null else 'no'} | "
            f"{_default(field)} | {'; '.join(_constraints(field, connection))} | {help_text} |"
        )
    extra = []
    for index in meta.indexes:
        cols = ", ".join(index.fields) or ", ".join(str(e) for e in index.expressions)
        extra.append(f"- index `{index.name}` on ({cols})")
    for constraint in meta.constraints:
        cols = ", ".join(getattr(constraint, "fields", ()) or
                         [str(e) for e in getattr(constraint, "expressions", ())])
        extra.append(f"- {type(constraint).__name__} `{constraint.name}` on ({cols})")
    for together in meta.unique_together:
        extra.append(f"- unique together ({', '.join(together)})")
    for m2m in meta.local_many_to_many:
        extra.append(f"- many-to-many `{m2m.name}` → `{m2m.related_model._meta.db_table}` "
                     f"through `{m2m.remote_field.through._meta.db_table}`")
    if extra:
        lines += ["", *extra]
    return [*lines, ""]


def _mermaid(model_list, connection) -> list[str]:
    shown = set(model_list)
    lines = ["```mermaid", "erDiagram"]
    for model in model_list:
        lines.append(f"    {model._meta.db_table} {{")
        for field in model._meta.concrete_fields:
            db_type = (field.db_type(connection) or "").split("(")[0].replace(" ", "_")
            key = " PK" if field.primary_key else (" FK" if field.is_relation else "")
            lines.append(f"        {db_type} {field.column}{key}")
        lines.append("    }")
    for model in model_list:
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model in shown:
                card = "||--o|" if field.one_to_one else "||--o{"
                lines.append(f"    {field.related_model._meta.db_table} {card} "
                             f"{model._meta.db_table} : {field.name}")
    lines.append("```")
    return lines


def render() -> str:
    connection = _postgres_connection()
    local = set(settings.LOCAL_APPS)
    every = sorted(apps.get_models(include_auto_created=True),
                   key=lambda m: (m._meta.app_config.name not in local, m._meta.db_table))
    own = [m for m in every if m._meta.app_config.name in local and not m._meta.auto_created]
    # The ER diagram shows our tables and the tables they point at.
    related = {f.related_model for m in own for f in m._meta.concrete_fields if f.is_relation}
    diagram = [m for m in every if m in set(own) | related]
    out = [
        "# Data dictionary",
        "",
        "Generated by `python manage.py datadict` from the Django models; do not edit by hand.",
        "CI fails when this file is stale. Types are PostgreSQL's.",
        "",
        "## Entity-relationship diagram",
        "",
        *_mermaid(diagram, connection),
        "",
        "## Tables",
        "",
    ]
    current_app = None
    for model in every:
        app = model._meta.app_config
        if app.label != current_app:
            current_app = app.label
            kind = "" if app.name in local else " (framework)"
            out += [f"## App `{app.label}`{kind}", ""]
        out += _table_section(model, connection)
    return "\n".join(out).rstrip() + "\n"
