"""``schema_audit``: clean on the migrated test database, and names each drift made on purpose.

The drift runs inside the test's transaction, which rolls back: DDL is
transactional on PostgreSQL and SQLite, so the next test sees the schema intact.
"""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

pytestmark = pytest.mark.django_db


def run_audit(*args) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("schema_audit", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


def drift(*statements) -> None:
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def constraint_name(table: str, **wanted) -> str:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
    return next(name for name, info in found.items()
                if all(info.get(k) == v for k, v in wanted.items()))


def findings() -> set[tuple[str, str]]:
    code, out = run_audit("--json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False
    return {(f["kind"], f["name"]) for f in report["findings"]}


def test_a_migrated_database_matches_its_models():
    code, out = run_audit()
    assert code == 0, out
    assert "The database matches the models." in out

    code, out = run_audit("--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["findings"] == []
    # Third-party apps Django migrates are audited too, not only ours.
    assert report["checked"]["tables"] > 40


@pytest.mark.postgres
def test_each_drift_on_postgresql_is_named():
    tag_fk = constraint_name("workspaces_tag", foreign_key=("workspaces_workspace", "id"))
    drift(
        "DROP INDEX analytics_sale_date_idx",
        'DROP INDEX "{}"'.format(constraint_name("workspaces_tag", index=True,
                                                 columns=["workspace_id"])),
        f'ALTER TABLE workspaces_tag DROP CONSTRAINT "{tag_fk}"',
        "ALTER TABLE workspaces_tag ADD COLUMN legacy_code varchar(20)",
        "ALTER TABLE workspaces_workspace ALTER COLUMN name TYPE varchar(200)",
        "ALTER TABLE workspaces_workspace ALTER COLUMN billing_plan TYPE text",
        "ALTER TABLE workspaces_workspace ALTER COLUMN slug DROP NOT NULL",
        "ALTER TABLE workspaces_workspace ALTER COLUMN status SET DEFAULT 'active'",
        "CREATE INDEX stray_tag_color ON workspaces_tag (color)",
        # The fact tables declare db_constraint=False: a foreign key there is drift.
        "ALTER TABLE analytics_salerecord ADD CONSTRAINT stray_sale_workspace_fk "
        "FOREIGN KEY (workspace_id) REFERENCES workspaces_workspace (id)",
        "CREATE TABLE legacy_faturamento (id integer, data timestamp)",
        # knox's own token model is swapped for ours: its table must not exist.
        "CREATE TABLE knox_authtoken (digest varchar(128) PRIMARY KEY)",
        "CREATE FUNCTION stray_touch() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RETURN NEW; END $$",
        "CREATE TRIGGER stray_touch_tag BEFORE UPDATE ON workspaces_tag "
        "FOR EACH ROW EXECUTE FUNCTION stray_touch()",
        "ALTER TABLE workspaces_tag ALTER COLUMN id DROP IDENTITY",
        "DROP TABLE reports_reportdelivery CASCADE",
    )

    found = findings()

    assert {
        ("missing_index", "analytics_sale_date_idx (workspace_id, sale_date)"),
        ("missing_index", "(workspace_id)"),
        ("missing_foreign_key", "(workspace_id) -> workspaces_workspace.id"),
        ("extra_column", "workspaces_tag.legacy_code"),
        ("type_mismatch", "workspaces_workspace.name"),
        ("type_mismatch", "workspaces_workspace.billing_plan"),
        ("nullability_mismatch", "workspaces_workspace.slug"),
        ("extra_default", "workspaces_workspace.status"),
        ("extra_index", "stray_tag_color"),
        ("extra_foreign_key", "stray_sale_workspace_fk"),
        ("extra_table", "legacy_faturamento"),
        ("extra_table", "knox_authtoken"),
        ("extra_trigger", "stray_touch_tag"),
        ("missing_sequence", "workspaces_tag.id"),
        ("missing_table", "reports_reportdelivery"),
    } <= found
    code, text = run_audit()
    assert code == 1
    assert "type mismatch: workspaces_workspace.name (model character varying(120), " \
           "database character varying(200))" in text
    assert "nullability mismatch: workspaces_workspace.slug (model NOT NULL, database NULL)" \
        in text


def test_each_drift_sqlite_can_make_is_named():
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite variant; PostgreSQL runs the fuller one above")
    drift(
        "DROP INDEX analytics_sale_date_idx",
        "ALTER TABLE workspaces_tag ADD COLUMN legacy_code varchar(20)",
        "CREATE INDEX stray_tag_color ON workspaces_tag (color)",
        "CREATE TABLE legacy_faturamento (id integer, data timestamp)",
        "CREATE TRIGGER stray_touch_tag AFTER UPDATE ON workspaces_tag "
        "BEGIN SELECT 1; END",
    )

    assert {
        ("missing_index", "analytics_sale_date_idx (workspace_id, sale_date)"),
        ("extra_column", "workspaces_tag.legacy_code"),
        ("extra_index", "stray_tag_color"),
        ("extra_table", "legacy_faturamento"),
        ("extra_trigger", "stray_touch_tag"),
    } <= findings()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="partitioning is PostgreSQL's")
def test_partitioning_declared_and_real_must_agree(monkeypatch):
    """The events table is partitioned and declares it: its month tables are not strays.
    A model claiming a partition key its table lacks is reported."""
    from core.schema_audit import Report, _audit_partitioning
    from workspaces.models import Tag

    with connection.cursor() as cursor:
        from analytics.models import Event

        known: set[str] = set()
        report = Report(database="test", vendor="postgresql")
        _audit_partitioning(report, Event, connection, cursor, known)
        assert report.ok and any(name.startswith("analytics_event_p") for name in known)
        assert "analytics_event_default" in known

        monkeypatch.setattr(Tag, "partitioned_by", "created_at", raising=False)
        _audit_partitioning(report, Tag, connection, cursor, set())
    assert [f.kind for f in report.findings] == ["partitioning_mismatch"]
