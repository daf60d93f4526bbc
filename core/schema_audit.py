"""Does the live database match the models?  ``manage.py schema_audit``.

Migrations are checked against the models by ``makemigrations --check``; this
checks the database itself, through Django's introspection: for every model
Django migrates (ours and third-party: auth, otp, celery beat, ...), its table,
each column's type, nullability and database default, its primary key and
sequence, and every index, unique and check constraint and foreign key the
model declares.  What nobody declared (tables, columns, indexes, constraints,
triggers) is listed too.

Expectations come from the same places Django's schema editor reads, so a
field with ``db_constraint=False`` expects no foreign key and ``db_index=False``
no index; a swapped-out model (knox's token, replaced by ours) expects no table,
and one of an app whose migrations are disabled is audited only if its table
exists (plain ``migrate`` never creates it).  Auto-named indexes and
constraints are matched by kind and columns, not name, since renames keep old
names; declared ones (``Meta.indexes``, ``Meta.constraints``) by name.
PostgreSQL and SQLite are supported.
"""

import re
from collections import Counter
from dataclasses import asdict, dataclass, field

from django.apps import apps
from django.db import NotSupportedError, connections, router
from django.db.migrations.loader import MigrationLoader
from django.db.models import CheckConstraint, UniqueConstraint
from django.db.models.fields import NOT_PROVIDED, AutoFieldMixin

from .models import partition_key

VENDORS = ("postgresql", "sqlite")
# Tables Django itself keeps that no model declares.
FRAMEWORK_TABLES = {"django_migrations"}


@dataclass(frozen=True)
class Finding:
    """One difference: ``kind`` is missing_*, extra_* or a *_mismatch."""

    kind: str
    table: str
    name: str
    detail: str = ""

    def __str__(self) -> str:
        label = self.kind.replace("_", " ")
        return f"{label}: {self.name}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class Report:
    database: str
    vendor: str
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked: Counter = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, kind: str, table: str, name: str, detail: str = "") -> None:
        self.findings.append(Finding(kind, table, name, detail))

    def as_dict(self) -> dict:
        return {"database": self.database, "vendor": self.vendor, "ok": self.ok,
                "checked": dict(self.checked), "notes": self.notes,
                "findings": [asdict(f) for f in self.findings]}

    def as_text(self) -> str:
        counts = ", ".join(f"{n} {what}" for what, n in sorted(self.checked.items()))
        lines = [f"Schema audit of {self.database} ({self.vendor}): checked {counts}."]
        lines += [f"note: {note}" for note in self.notes]
        by_table: dict[str, list[Finding]] = {}
        for finding in self.findings:
            by_table.setdefault(finding.table, []).append(finding)
        for table in sorted(by_table):
            lines.append(f"{table}:")
            lines += [f"  - {finding}" for finding in by_table[table]]
        lines.append("The database matches the models." if self.ok else
                     f"{len(self.findings)} difference(s) between the database and the models.")
        return "\n".join(lines)


@dataclass
class Expected:
    """An index or constraint a model declares: by name if it has one, else by columns."""

    kind: str  # "primary key", "unique", "index", "foreign key", "check"
    columns: tuple | None
    name: str | None = None
    target: tuple | None = None  # foreign key: (table, column)

    def describe(self) -> str:
        cols = f"({', '.join(self.columns)})" if self.columns else "(expressions)"
        what = self.name or cols
        if self.name and self.columns:
            what += f" {cols}"
        if self.target:
            what += f" -> {self.target[0]}.{self.target[1]}"
        return what


# --- What the models declare --------------------------------------------------

def _expected_models(connection):
    """(audited, known_tables, notes): models whose table must match, every declared table."""
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    audited, known, notes = [], set(FRAMEWORK_TABLES), []
    for model in apps.get_models(include_auto_created=True):  # swapped models excluded
        opts = model._meta
        known.add(opts.db_table)
        if not opts.managed or opts.proxy or not router.allow_migrate_model(connection.alias,
                                                                           model):
            continue
        if opts.app_label in loader.unmigrated_apps:
            notes.append(f"{opts.label}: app {opts.app_label} has no migrations, so "
                         "migrate never creates its table; audited only if present")
            audited.append((model, False))
            continue
        audited.append((model, True))
    return audited, known, notes


def _columns(model, connection):
    return [f for f in model._meta.local_concrete_fields
            if f.db_type(connection) is not None]


def _field_columns(model, names) -> tuple:
    return tuple(model._meta.get_field(n.lstrip("-")).column for n in names)


def _expected_constraints(model, connection, editor) -> list[Expected]:
    opts = model._meta
    key = partition_key(model) if connection.vendor == "postgresql" else None
    # PostgreSQL requires a partitioned table's key in its primary key.
    pk = (opts.pk.column, opts.get_field(key).column) if key else (opts.pk.column,)
    expected = [Expected("primary key", pk)]
    # PostgreSQL adds a *_pattern_ops index beside varchar/text keys for LIKE;
    # asking its schema editor keeps every exception Django makes to that.
    like = getattr(editor, "_create_like_index_sql", None)
    for f in _columns(model, connection):
        if f.unique and not f.primary_key:
            expected.append(Expected("unique", (f.column,)))
        elif f.db_index and not f.unique:
            expected.append(Expected("index", (f.column,)))
        if like is not None and like(model, f) is not None:
            expected.append(Expected("index", (f.column,)))
        if f.remote_field and (f.many_to_one or f.one_to_one) and f.db_constraint:
            target = f.target_field
            expected.append(Expected("foreign key", (f.column,),
                                     target=(target.model._meta.db_table, target.column)))
        if f.db_parameters(connection).get("check"):
            expected.append(Expected("check", (f.column,)))
    for fields in opts.unique_together:
        expected.append(Expected("unique", _field_columns(model, fields)))
    for index in opts.indexes:
        if connection.vendor not in getattr(index, "vendors", (connection.vendor,)):
            continue  # e.g. core.indexes.PostgresGinIndex on SQLite
        expected.append(Expected("index",
                                 _field_columns(model, index.fields) if index.fields else None,
                                 name=index.name))
    for constraint in opts.constraints:
        if isinstance(constraint, UniqueConstraint):
            cols = _field_columns(model, constraint.fields) if constraint.fields else None
            expected.append(Expected("unique", cols, name=constraint.name))
        elif isinstance(constraint, CheckConstraint):
            expected.append(Expected("check", None, name=constraint.name))
        else:  # e.g. an exclusion constraint: its name is all we can hold it to
            expected.append(Expected("other", None, name=constraint.name))
    return expected


# --- What the database holds --------------------------------------------------

def _actual_kind(info: dict) -> str:
    if info.get("primary_key"):
        return "primary key"
    if info.get("foreign_key"):
        return "foreign key"
    if info.get("check"):
        return "check"
    if info.get("unique"):
        return "unique"
    if info.get("index"):
        return "index"
    return "other"


def _actual_columns(info: dict) -> tuple:
    # SQLite's parser lists a column once per mention in a CHECK expression.
    columns = [c for c in info["columns"] if c]
    return tuple(dict.fromkeys(columns)) if info.get("check") else tuple(columns)


def _normalise_type(db_type: str, vendor: str) -> str:
    text = re.sub(r"\s+", " ", db_type.strip().lower())
    text = re.sub(r"\s*,\s*", ",", text)
    text = re.sub(r"\s*\(\s*", "(", text).replace(" )", ")")
    if vendor != "postgresql":
        return text
    # Django writes PostgreSQL's short names; format_type() answers the long ones.
    base, rest = re.match(r"([a-z ]+?)(\(.*|\[.*|)$", text).groups()
    base = {
        "varchar": "character varying", "char": "character",
        "timestamp": "timestamp without time zone", "time": "time without time zone",
        "timestamptz": "timestamp with time zone", "int": "integer", "int4": "integer",
        "int8": "bigint", "int2": "smallint", "bool": "boolean", "float8": "double precision",
        "float4": "real", "decimal": "numeric", "serial": "integer", "bigserial": "bigint",
        "smallserial": "smallint",
    }.get(base, base)
    return base + rest


def _column_types(connection, cursor) -> dict:
    """{(table, column): declared type} as the database spells it."""
    if connection.vendor == "postgresql":
        cursor.execute("""
            SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
            FROM pg_attribute a JOIN pg_class c ON a.attrelid = c.oid
            WHERE c.relkind IN ('r', 'p') AND pg_catalog.pg_table_is_visible(c.oid)
              AND a.attnum > 0 AND NOT a.attisdropped""")
        return {(table, column): type_ for table, column, type_ in cursor.fetchall()}
    return {}  # SQLite: the declared type comes back in the table description


def _triggers(connection, cursor) -> list[tuple[str, str]]:
    """(trigger, table) for every trigger someone created (not the database's own)."""
    if connection.vendor == "postgresql":
        cursor.execute("""
            SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON t.tgrelid = c.oid
            WHERE NOT t.tgisinternal AND pg_catalog.pg_table_is_visible(c.oid)""")
    else:
        cursor.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'")
    return sorted(cursor.fetchall())


# --- The comparison -------------------------------------------------------------

def _audit_columns(report, model, connection, description, types) -> None:
    table = model._meta.db_table
    actual = {info.name: info for info in description}
    declared = set()
    for f in _columns(model, connection):
        declared.add(f.column)
        info = actual.get(f.column)
        name = f"{table}.{f.column}"
        report.checked["columns"] += 1
        if info is None:
            report.add("missing_column", table, name, f"model {model._meta.label}.{f.name}")
            continue
        found = types.get((table, f.column), info.type_code)
        want, have = (_normalise_type(f.db_type(connection), connection.vendor),
                      _normalise_type(str(found), connection.vendor))
        if want != have and not _widened_through_pk(model, f, want, have):
            report.add("type_mismatch", table, name, f"model {want}, database {have}")
        if bool(info.null_ok) != f.null:
            report.add("nullability_mismatch", table, name,
                       f"model {'NULL' if f.null else 'NOT NULL'}, "
                       f"database {'NULL' if info.null_ok else 'NOT NULL'}")
        _audit_default(report, table, name, f, info)
    for column in sorted(set(actual) - declared):
        report.add("extra_column", table, f"{table}.{column}", "no model field declares it")


def _widened_through_pk(model, f, want: str, have: str) -> bool:
    # Migrations render an auto-created many-to-many table with DEFAULT_AUTO_FIELD,
    # while the running model takes its app's default_auto_field (auth's is
    # AutoField): Django's own tables then hold a bigint id for an integer one.
    return (model._meta.auto_created and f.primary_key
            and (want, have) in {("integer", "bigint"), ("smallint", "integer"),
                                 ("smallint", "bigint")})


def _audit_default(report, table, name, f, info) -> None:
    default = info.default
    if isinstance(f, AutoFieldMixin) and default and "nextval(" in str(default):
        default = None  # a serial column from before identity columns: still a sequence
    if f.db_default is not NOT_PROVIDED:
        if default is None:
            report.add("missing_default", table, name, f"model db_default={f.db_default!r}")
    elif default is not None:
        report.add("extra_default", table, name, f"database default {default}")


def _audit_constraints(report, model, connection, editor, actual) -> None:
    table = model._meta.db_table
    remaining = dict(actual)
    unnamed = []
    for want in _expected_constraints(model, connection, editor):
        report.checked["indexes and constraints"] += 1
        if want.name is None:
            unnamed.append(want)
            continue
        info = remaining.pop(want.name, None)
        if info is None:
            report.add(f"missing_{want.kind.replace(' ', '_')}", table, want.describe())
        elif want.kind != "other" and _actual_kind(info) != want.kind:
            report.add("constraint_mismatch", table, want.name,
                       f"model {want.kind}, database {_actual_kind(info)}")
        elif want.columns and _actual_columns(info) != want.columns:
            report.add("constraint_mismatch", table, want.name,
                       f"model columns {want.columns}, database {_actual_columns(info)}")
    for want in unnamed:
        match = next((n for n, info in remaining.items()
                      if _actual_kind(info) == want.kind
                      and _actual_columns(info) == want.columns
                      and (want.target is None or tuple(info["foreign_key"]) == want.target)),
                     None)
        if match is None:
            report.add(f"missing_{want.kind.replace(' ', '_')}", table, want.describe())
        else:
            del remaining[match]
    for name, info in sorted(remaining.items()):
        kind = _actual_kind(info)
        cols = ", ".join(_actual_columns(info)) or "expressions"
        detail = f"on ({cols})"
        if info.get("foreign_key"):
            detail += f" -> {'.'.join(info['foreign_key'])}"
        report.add(f"extra_{kind.replace(' ', '_')}", table, name, detail + ", not declared")


def _audit_sequences(report, model, connection, cursor) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite's rowid needs no sequence
    table = model._meta.db_table
    autos = [f for f in _columns(model, connection) if isinstance(f, AutoFieldMixin)]
    if not autos:
        return
    have = {s["column"] for s in connection.introspection.get_sequences(cursor, table)}
    for f in autos:
        if f.column not in have:
            report.add("missing_sequence", table, f"{table}.{f.column}",
                       "auto field without an identity or serial sequence")


def _partitions(connection, cursor, model) -> tuple[bool, list[str]]:
    """(is the table partitioned, its partitions' names) on PostgreSQL."""
    if connection.vendor != "postgresql":
        return False, []
    table = model._meta.db_table
    cursor.execute("SELECT relkind = 'p' FROM pg_class WHERE relname = %s "
                   "AND relnamespace = 'public'::regnamespace", [table])
    row = cursor.fetchone()
    cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                   "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s", [table])
    return bool(row and row[0]), [name for (name,) in cursor.fetchall()]


def _audit_partitioning(report, model, connection, cursor, known: set) -> None:
    """A model declaring ``partitioned_by`` owns its partitions; its table must be one."""
    partitioned, children = _partitions(connection, cursor, model)
    known.update(children)
    key = partition_key(model)
    table = model._meta.db_table
    if connection.vendor == "postgresql" and key and not partitioned:
        report.add("partitioning_mismatch", table, table,
                   f"model partitioned by {key}, database table is not partitioned")
    elif partitioned and not key:
        report.add("partitioning_mismatch", table, table,
                   "database table is partitioned, the model declares no partitioned_by")


def audit(using: str = "default") -> Report:
    """Compare the database ``using`` with every installed model."""
    connection = connections[using]
    if connection.vendor not in VENDORS:
        raise NotSupportedError(f"schema_audit supports {', '.join(VENDORS)}, "
                                f"not {connection.vendor}")
    report = Report(database=str(connection.settings_dict["NAME"]), vendor=connection.vendor)
    audited, known, report.notes = _expected_models(connection)
    introspection = connection.introspection
    editor = connection.schema_editor(collect_sql=True)
    with connection.cursor() as cursor:
        tables = {t.name: t.type for t in introspection.get_table_list(cursor)}
        types = _column_types(connection, cursor)
        for model, required in audited:
            table = model._meta.db_table
            report.checked["tables"] += 1
            if table not in tables:
                if required:
                    report.add("missing_table", table, table, f"model {model._meta.label}")
                continue
            _audit_partitioning(report, model, connection, cursor, known)
            description = introspection.get_table_description(cursor, table)
            _audit_columns(report, model, connection, description, types)
            _audit_constraints(report, model, connection, editor,
                               introspection.get_constraints(cursor, table))
            _audit_sequences(report, model, connection, cursor)
        for table in sorted(set(tables) - known):
            what = "view" if tables[table] == "v" else "table"
            report.add(f"extra_{what}", table, table, "no model declares it")
        for trigger, table in _triggers(connection, cursor):
            report.checked["triggers"] += 1
            report.add("extra_trigger", table, trigger, "triggers are not declared by models")
    return report
