"""PostgreSQL: analytics_event becomes a table partitioned by month of ``timestamp``
(analytics.partitions).  No model state changes: the model still declares ``id`` as its
primary key, while the database's is ``(id, timestamp)``, as partitioning requires.
Other databases keep the plain table."""

from django.db import migrations


def partition(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from analytics.partitions import partition_table

        partition_table(schema_editor.connection)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from analytics.partitions import unpartition_table

        unpartition_table(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ("analytics", "0005_product_analytics"),
    ]

    operations = [migrations.RunPython(partition, unpartition)]
