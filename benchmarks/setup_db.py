"""The benchmark databases: created, migrated and filled once, then reused.

Two databases on the same PostgreSQL server, same schema, same users:

* the main one (``DATABASE_URL``, default ``synapscale_bench``) holds
  1,000,000 audit entries; the API benchmark and the large changelist use it;
* ``<main>_1k`` holds 1,000 audit entries, for the small changelist.

A database per size keeps the comparison fair and the second run fast: each
table is loaded once to its final size in one set-based ``INSERT ... SELECT
FROM generate_series`` and then ``VACUUM ANALYZE``d, so both are compact (no
dead tuples), have hint bits and a visibility map, and current planner
statistics.  Shrinking and regrowing a single table on every run would instead
reload 1,000,000 rows each time.  A table of the wrong size is topped up (or
emptied and reloaded), so the setup is idempotent.
"""

import time
from contextlib import contextmanager

import psycopg
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django_otp.plugins.otp_totp.models import TOTPDevice
from psycopg import sql

LARGE_ROWS = 1_000_000
SMALL_ROWS = 1_000
ADMIN_EMAIL = "bench-admin@example.com"
ACTORS = 20
TARGETS = 5_000

# One row per g: id g, created_at spread over one year whatever the row count
# (ids and times grow together, as in the real append-only table), actor and
# target cycling through 20 staff users and 5,000 target users.  The before/after
# snapshots (8 keys, like a User's) are built once per target into jsonb arrays
# and indexed per row: building jsonb for every row would triple the load time.
# mod() rather than % keeps the SQL free of placeholder escaping.
_AUDIT_INSERT = """
WITH targets AS (
    SELECT n, jsonb_build_object(
        'id', n + 1,
        'email', 'user' || (n + 1) || '@example.com',
        'first_name', 'First' || (n + 1),
        'last_name', 'Last' || mod(n, 977),
        'status', (ARRAY['active', 'pending', 'suspended', 'deactivated'])[1 + mod(n, 4)],
        'is_active', mod(n, 7) <> 0,
        'is_staff', mod(n, 13) = 0,
        'timezone', (ARRAY['UTC', 'Europe/Paris', 'America/New_York'])[1 + mod(n, 3)]
    ) AS snapshot
    FROM generate_series(0, %(targets)s - 1) AS n
), lookup AS MATERIALIZED (
    SELECT
        (SELECT array_agg(id ORDER BY email) FROM accounts_user
         WHERE email LIKE 'bench-actor-%%') AS actor_ids,
        (SELECT jsonb_agg(snapshot ORDER BY n) FROM targets) AS created,
        (SELECT jsonb_agg(snapshot || jsonb_build_object(
            'status', 'active', 'is_active', true, 'last_name', 'Renamed' || mod(n, 97)
         ) ORDER BY n) FROM targets) AS updated
)
INSERT INTO core_auditentry (
    id, created_at, actor_id, actor_repr, ip_address, request_id, source, action,
    target_type_id, target_id, target_repr, before, after
)
SELECT
    g,
    timestamptz '2025-01-01 00:00:00+00' + g * make_interval(secs => %(step)s),
    (SELECT actor_ids FROM lookup)[1 + mod(g, %(actors)s)],
    'bench-actor-' || lpad(mod(g, %(actors)s)::text, 2, '0') || '@example.com',
    '10.0.0.0'::inet + mod(g, 16777216),
    md5(g::text),
    (ARRAY['admin', 'api', 'other'])[1 + mod(g, 3)],
    (ARRAY['create', 'create', 'create', 'update', 'update', 'update', 'update', 'update',
           'update', 'delete'])[1 + mod(g, 10)],
    %(target_type)s,
    (mod(g, %(targets)s) + 1)::text,
    'user' || (mod(g, %(targets)s) + 1) || '@example.com',
    CASE WHEN mod(g, 10) >= 3 THEN (SELECT created FROM lookup) -> mod(g, %(targets)s)::int END,
    CASE WHEN mod(g, 10) < 3 THEN (SELECT created FROM lookup) -> mod(g, %(targets)s)::int
         WHEN mod(g, 10) < 9 THEN (SELECT updated FROM lookup) -> mod(g, %(targets)s)::int
    END
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
"""

# The table's secondary indexes and foreign keys, to drop for the load and
# recreate from their own definitions afterwards (one build beats a million
# index insertions and foreign-key trigger checks: ~15s instead of ~50s).
_SECONDARY_INDEXES = """
SELECT c.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
WHERE i.indrelid = 'core_auditentry'::regclass
  AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = i.indexrelid)
"""
_FOREIGN_KEYS = """
SELECT conname, pg_get_constraintdef(oid)
FROM pg_constraint WHERE conrelid = 'core_auditentry'::regclass AND contype = 'f'
"""


def connect_kwargs(dbname: str | None = None) -> dict:
    """libpq parameters of the Django database (or another on the same server)."""
    db = settings.DATABASES["default"]
    params = {
        "dbname": dbname or db["NAME"],
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
    }
    return {k: v for k, v in params.items() if v is not None}


def ensure_database(name: str) -> None:
    with psycopg.connect(**connect_kwargs("postgres"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return
        print(f"creating database {name}")
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


_connections_by_name: dict = {}


@contextmanager
def using_database(name: str):
    """Make a connection to database ``name`` Django's default one for the block.

    The connection is kept open for the next block, so switching back and forth
    costs neither a reconnect nor a cold server backend.
    """
    previous = connections[DEFAULT_DB_ALIAS]
    if name not in _connections_by_name:
        settings_dict = {**previous.settings_dict, "NAME": name}
        _connections_by_name[name] = type(previous)(settings_dict, DEFAULT_DB_ALIAS)
    connections[DEFAULT_DB_ALIAS] = _connections_by_name[name]
    ContentType.objects.clear_cache()  # ids are per database
    try:
        yield
    finally:
        connections[DEFAULT_DB_ALIAS] = previous
        ContentType.objects.clear_cache()


def prepare(rows: int):
    """Migrate the current database and fill it; returns the superuser to sign in as."""
    call_command("migrate", interactive=False, verbosity=0)
    admin = _ensure_users()
    _ensure_audit_entries(rows)
    return admin


def _ensure_users():
    User = get_user_model()
    admin = User.objects.filter(email=ADMIN_EMAIL).first()
    if admin is None:
        admin = User.objects.create_superuser(ADMIN_EMAIL, password=None)
    # Staff sign in with a second factor in production; the benchmark's session is verified.
    TOTPDevice.objects.get_or_create(user=admin, name="benchmarks", defaults={"confirmed": True})
    User.objects.bulk_create(
        [
            User(email=f"bench-actor-{i:02d}@example.com", first_name="Actor", last_name=str(i),
                 is_staff=True, password=make_password(None))
            for i in range(ACTORS)
        ],
        ignore_conflicts=True,
    )
    return admin


def _ensure_audit_entries(rows: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), coalesce(max(id), 0) FROM core_auditentry")
        present, last_id = cursor.fetchone()
        if present == rows:
            return
        if present > rows:
            cursor.execute("TRUNCATE core_auditentry RESTART IDENTITY")
            present = last_id = 0
        print(f"loading {rows - present:,} audit entries into {connection.settings_dict['NAME']}",
              end="", flush=True)
        started = time.perf_counter()
        with transaction.atomic():  # DDL is transactional: a failed load changes nothing
            cursor.execute(_SECONDARY_INDEXES)
            indexes = cursor.fetchall()
            cursor.execute(_FOREIGN_KEYS)
            foreign_keys = cursor.fetchall()
            for name, _ in indexes:
                cursor.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
            for name, _ in foreign_keys:
                cursor.execute(sql.SQL("ALTER TABLE core_auditentry DROP CONSTRAINT {}")
                               .format(sql.Identifier(name)))
            cursor.execute(_AUDIT_INSERT, {
                "first": last_id + 1,
                "last": last_id + rows - present,
                "step": 365 * 86400 / rows,
                "actors": ACTORS,
                "targets": TARGETS,
                "target_type": ContentType.objects.get_for_model(get_user_model()).id,
            })
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for _, definition in indexes:
                cursor.execute(definition)
            for name, definition in foreign_keys:
                cursor.execute(sql.SQL("ALTER TABLE core_auditentry ADD CONSTRAINT {} ")
                               .format(sql.Identifier(name)) + sql.SQL(definition))
            cursor.execute("SELECT setval(pg_get_serial_sequence('core_auditentry', 'id'), %s)",
                           [last_id + rows - present])
        loaded = time.perf_counter() - started
        # Outside a transaction (autocommit): hint bits, visibility map, statistics.
        cursor.execute("VACUUM ANALYZE core_auditentry")
        cursor.execute("ANALYZE")
    print(f": {loaded:.1f}s, then VACUUM ANALYZE: {time.perf_counter() - started - loaded:.1f}s")
