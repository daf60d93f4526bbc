"""A changelist paginator whose cost does not grow with the table.

Counting stops at ``EXACT_LIMIT`` rows.  Past it, PostgreSQL's planner
estimate stands in for the total (good to a few percent, free to obtain); on
other databases the page count just says "at least".
"""

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

EXACT_LIMIT = 10_000


def bounded_count(queryset, limit: int = EXACT_LIMIT) -> int:
    """Exact when below ``limit``; otherwise an estimate that is at least ``limit``."""
    exact = queryset.order_by()[: limit + 1].count()
    if exact <= limit:
        return exact
    return max(exact, estimated_count(queryset) or 0)


def estimated_count(queryset) -> int | None:
    """The planner's row estimate for the query (PostgreSQL), else ``None``."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        import json

        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class BoundedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        return bounded_count(self.object_list)
