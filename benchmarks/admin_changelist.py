"""(b) The admin changelist on 1,000,000 audit entries against 1,000.

``GET /admin/core/auditentry/`` as a signed-in superuser: the first page (50
rows, actor and content type joined), newest first.  Nothing on that page may
grow with the table: the admin bases count at most 10,001 rows (then take the
planner's estimate; ``BoundedCountPaginator``) and skip the unfiltered
``COUNT(*)`` (``show_full_result_count = False``).  So the same page on a
1,000-row table and on a 1,000,000-row table should cost about the same:
target at most 1.5x.

Each size lives in its own freshly loaded and analysed database (see
``setup_db``), each with its own open connection; the two are measured in
short alternating blocks, so a slower spell of the machine hits both alike.
"""

from contextlib import nullcontext
from statistics import median

from .setup_db import LARGE_ROWS, SMALL_ROWS, using_database
from .timing import Case, Result, WsgiClient, samples_ms

PATH = "/admin/core/auditentry/"
TARGET = 1.5
ROUNDS, WARMUP, REPEAT = 10, 3, 15


def _changelist(user, database: str | None = None) -> Case:
    """The changelist as ``user`` in ``database`` (default: Django's), checked once."""
    within = (lambda: using_database(database)) if database else nullcontext
    with within():
        client = WsgiClient(user)
        status, body = client(client.environ(PATH))
    if status != 200 or b'id="result_list"' not in body:
        raise RuntimeError(f"GET {PATH} answered {status}, not the changelist: {body[:300]!r}")
    return Case(client, lambda: client.environ(PATH), within)


def run(large_user, small_database: str, small_user) -> Result:
    small, large = samples_ms(
        _changelist(small_user, small_database),
        _changelist(large_user),
        rounds=ROUNDS, warmup=WARMUP, repeat=REPEAT,
    )
    small, large = median(small), median(large)
    return Result(
        f"admin changelist ({LARGE_ROWS:,} / {SMALL_ROWS:,} rows)",
        f"1M {large:.2f} / 1k {small:.2f}",
        large / small,
        TARGET,
    )
