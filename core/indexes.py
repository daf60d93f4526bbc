"""Indexes one database has and the others do without.

PostgreSQL-only speed-ups sit behind one function each with a portable fallback
(ARCHITECTURE.md); their indexes follow: declared on the model, created on
PostgreSQL, a no-op elsewhere (SQLite, the zero-setup default), and audited
only where they exist (``core.schema_audit`` reads ``vendors``).
"""

from django.contrib.postgres.indexes import GinIndex


class _Nothing:
    """A statement that does nothing, for databases without the index type."""

    def __init__(self, why: str):
        self.why = why

    def __str__(self) -> str:
        return f"-- {self.why}"

    def references_table(self, table) -> bool:
        return False

    def references_column(self, table, column) -> bool:
        return False

    def rename_table_references(self, old, new) -> None:
        pass

    def rename_column_references(self, table, old, new) -> None:
        pass


class PostgresGinIndex(GinIndex):
    """A GIN index (full-text ``tsvector``, ``jsonb``) on PostgreSQL; none elsewhere."""

    vendors = ("postgresql",)

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor not in self.vendors:
            return _Nothing(f"{self.name}: a GIN index, PostgreSQL only")
        return super().create_sql(model, schema_editor, using=using, **kwargs)

    def remove_sql(self, model, schema_editor, **kwargs):
        if schema_editor.connection.vendor not in self.vendors:
            return _Nothing(f"{self.name}: a GIN index, PostgreSQL only")
        return super().remove_sql(model, schema_editor, **kwargs)
