"""(a) A 100-row API list request against the floor: one psycopg query plus orjson.

``GET /api/v1/audit-entries/?page_size=100`` as a signed-in superuser (session
cookie), through the whole WSGI stack (see ``timing``), on the 1,000,000-row
audit table.  The floor fetches the same 100 rows (same columns, same order)
over a plain ``psycopg.connect`` connection and ``orjson.dumps`` them as a
list of objects: what any implementation has to spend.  The ratio says what
Django, DRF, the middleware and authentication add on top; with the
values()+orjson fast path (core/api/fastpath.py) the target is at most 5x.

Before timing, the API's ``results`` are checked to equal the raw rows, so
both sides really produce the same data.
"""

import cProfile
import pstats
from statistics import median

import orjson
import psycopg
from psycopg.rows import dict_row

from .setup_db import connect_kwargs
from .timing import Case, Result, WsgiClient, samples_ms

PATH = "/api/v1/audit-entries/?page_size=100"
TARGET = 5.0
ROUNDS, WARMUP, REPEAT = 8, 10, 40

RAW_SQL = """
SELECT id, created_at, actor_id AS actor, actor_repr, ip_address, request_id, source,
       action, target_type_id AS target_type, target_id, target_repr, before, after
FROM core_auditentry ORDER BY id DESC LIMIT 100
"""


def _raw_fetch(conn) -> bytes:
    with conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute(RAW_SQL)
        rows = cursor.fetchall()
    # ip_address comes back as an ipaddress object: str() it, as Django does.
    return orjson.dumps(rows, default=str, option=orjson.OPT_UTC_Z)


def run(user) -> Result:
    client = WsgiClient(user)

    def prepare():
        return client.environ(PATH, accept="application/json")

    with psycopg.connect(**connect_kwargs(), autocommit=True) as conn:
        _check_same_data(client(prepare()), _raw_fetch(conn))
        api, raw = samples_ms(
            Case(client, prepare), Case(lambda _: _raw_fetch(conn)),
            rounds=ROUNDS, warmup=WARMUP, repeat=REPEAT,
        )
    api, raw = median(api), median(raw)
    return Result(
        "api list, 100 rows (API / psycopg+orjson)",
        f"api {api:.2f} / raw {raw:.2f}",
        api / raw,
        TARGET,
    )


def _check_same_data(response: tuple[int, bytes], raw: bytes) -> None:
    status, body = response
    if status != 200:
        raise RuntimeError(f"GET {PATH} answered {status}: {body[:500]!r}")
    results = orjson.loads(body)["results"]
    if len(results) != 100 or results != orjson.loads(raw):
        raise RuntimeError("the API and the raw query disagree on the 100 newest audit entries")


def profile(user, requests: int = 300, top: int = 30) -> None:
    """cProfile of the API request, hottest functions by cumulative and own time."""
    client = WsgiClient(user)
    environs = [client.environ(PATH, accept="application/json") for _ in range(requests + 50)]
    for environ in environs[:50]:
        client(environ)
    profiler = cProfile.Profile()
    profiler.enable()
    for environ in environs[50:]:
        client(environ)
    profiler.disable()
    stats = pstats.Stats(profiler).strip_dirs()
    print(f"\ncProfile of {requests} requests to {PATH}")
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
