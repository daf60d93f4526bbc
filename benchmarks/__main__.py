"""``make bench``: prepare the databases, run both benchmarks, print the table.

``python -m benchmarks --profile`` also prints a cProfile of the API request.
"""

import argparse
import os
import sys
import time

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/synapscale_bench"


def configure_environment() -> None:
    """Production settings, as the WSGI server would load them; before django.setup()."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ["DJANGO_DEBUG"] = "false"  # DEBUG keeps a log of every query
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ["DJANGO_SECURE_COOKIES"] = "false"
    os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "false"  # requests go over plain WSGI
    # The throttle still runs on every request; it just must not answer 429 here.
    os.environ["API_THROTTLE_USER"] = "1000000/min"
    os.environ.setdefault("LOG_LEVEL", "WARNING")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile of the API list request")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    configure_environment()

    import django

    django.setup()
    from django.db import connection

    from . import admin_changelist, api_list, bi_import, reports, setup_db
    from .setup_db import LARGE_ROWS, SMALL_ROWS
    from .timing import print_table

    if connection.vendor != "postgresql":
        print("benchmarks need PostgreSQL: set DATABASE_URL to a postgres:// URL", file=sys.stderr)
        return 2
    large_db = connection.settings_dict["NAME"]
    small_db = f"{large_db}_1k"
    setup_db.ensure_database(large_db)
    setup_db.ensure_database(small_db)
    large_user = setup_db.prepare(LARGE_ROWS)
    with setup_db.using_database(small_db):
        small_user = setup_db.prepare(SMALL_ROWS)
    print(f"setup: {time.perf_counter() - started:.1f}s; measuring...\n", flush=True)

    results = [
        api_list.run(large_user),
        admin_changelist.run(large_user, small_db, small_user),
        bi_import.run(),
    ]
    results += reports.run()  # over the rows the import benchmark just loaded
    print_table(results)
    missed = [r.benchmark for r in results if not r.passed]
    if missed:
        print(f"\nTARGET MISSED: {', '.join(missed)}")
    if args.profile:
        api_list.profile(large_user)
    print(f"\ntotal wall time: {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
