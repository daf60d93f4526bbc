"""Admin bases stay cheap on big tables and safe with foreign keys."""

import pytest
from django.contrib.admin import widgets
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.admin.paginator import bounded_count
from core.models import AuditEntry
from tests.factories import AuditEntryFactory

pytestmark = pytest.mark.django_db


def test_bounded_count_is_exact_below_the_limit():
    AuditEntryFactory.create_batch(3)
    assert bounded_count(AuditEntry.objects.all(), limit=5) == 3


def test_bounded_count_never_counts_past_the_limit():
    AuditEntryFactory.create_batch(6)
    with CaptureQueriesContext(connection) as queries:
        total = bounded_count(AuditEntry.objects.all(), limit=4)
    assert total >= 5
    assert "LIMIT 5" in queries.captured_queries[0]["sql"]


def test_changelist_has_no_full_count_and_joins_foreign_keys(client, superuser):
    client.force_login(superuser)
    AuditEntryFactory.create_batch(5)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:core_auditentry_changelist"))
    assert response.status_code == 200
    assert b"5 audit entries" in response.content
    sql = [q["sql"] for q in queries.captured_queries]
    assert not any(s == 'SELECT COUNT(*) AS "__count" FROM "core_auditentry"' for s in sql)
    # actor and target_type come joined, not one query per row.
    assert len([s for s in sql if 'FROM "accounts_user"' in s]) <= 2


def test_foreign_keys_use_autocomplete_or_raw_id(rf, superuser):
    from django.contrib import admin

    model_admin = admin.site._registry[AuditEntry]
    request = rf.get("/")
    request.user = superuser
    actor = AuditEntry._meta.get_field("actor")
    target = AuditEntry._meta.get_field("target_type")
    assert isinstance(model_admin.formfield_for_foreignkey(actor, request).widget,
                      widgets.AutocompleteSelect)
    assert isinstance(model_admin.formfield_for_foreignkey(target, request).widget,
                      widgets.ForeignKeyRawIdWidget)


@pytest.mark.postgres
def test_planner_estimate_stands_in_for_large_counts_on_postgresql():
    from django.db import connection as conn

    from core.admin.paginator import estimated_count

    AuditEntryFactory.create_batch(30)
    with conn.cursor() as cursor:
        cursor.execute("ANALYZE core_auditentry")
    estimate = estimated_count(AuditEntry.objects.all())
    assert estimate is not None and 10 <= estimate <= 100
    assert bounded_count(AuditEntry.objects.all(), limit=5) >= 6
