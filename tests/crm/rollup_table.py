"""Until the lead's migration creates ``crm_calldailymetric``, the rollup tests create
the table in the test database themselves (nothing when the migration exists)."""

import pytest
from django.db import connection


@pytest.fixture(scope="session")
def rollup_table(django_db_setup, django_db_blocker):
    from crm.models.rollups import CallDailyMetric

    with django_db_blocker.unblock():
        if CallDailyMetric._meta.db_table not in connection.introspection.table_names():
            with connection.schema_editor() as editor:
                editor.create_model(CallDailyMetric)
