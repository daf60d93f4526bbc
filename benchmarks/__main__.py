"""``make bench``: prepare the databases, run both benchmarks, print the table.

``python -m benchmarks --profile`` also prints a cProfile of the API request;
``--workflows-only`` runs the workflow engine benchmark alone (benchmarks/workflows.py);
``--agents-only`` the agents one (benchmarks/agents.py); ``--billing-only`` usage
ingestion and invoice generation (benchmarks/billing_usage.py, billing.py);
``--crm-only`` provider webhooks and the contact import (benchmarks/crm_*.py);
``--analytics-only`` event capture and a 6-widget dashboard over 10,000,000 events
(benchmarks/analytics_*.py); ``--webhooks-only`` one event fanned out to 100 endpoints
(benchmarks/webhooks_fanout.py).
"""

import argparse
import os
import sys
import time

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/synapscale_bench"


def configure_environment() -> None:
    """Production settings, as the WSGI server would load them; before django.setup()."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    # One thread here, on a persistent connection: Django's pool is keyed by alias, so
    # setup_db.using_database() would get the other database's pooled connections.
    # The load benchmark's gunicorn gets the pool, as configured (load.run).
    os.environ["DB_POOL_MAX_SIZE"] = "0"
    os.environ["CONN_MAX_AGE"] = "600"
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ["DJANGO_DEBUG"] = "false"  # DEBUG keeps a log of every query
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ["DJANGO_SECURE_COOKIES"] = "false"
    os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "false"  # requests go over plain WSGI
    # The throttle still runs on every request; it just must not answer 429 here.
    os.environ["API_THROTTLE_USER"] = "1000000/min"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # The vault (webhook signing secrets, agents' keys) refuses to run without a key ring
    # outside DEBUG; the benchmark's own, for its throwaway database.
    os.environ.setdefault("SECRETS_ENCRYPTION_KEYS", "UuGR7ZSnWfYGCriWSKagFdv8wlC8OLLNmDM2fSy4GVk=")


def standalone(run, label: str) -> int:
    """``python -m benchmarks.<one>``: the same environment and database as ``make bench``,
    one benchmark's table."""
    configure_environment()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from .setup_db import ensure_database
    from .timing import print_table

    if connection.vendor != "postgresql":
        print("benchmarks need PostgreSQL: set DATABASE_URL to a postgres:// URL", file=sys.stderr)
        return 2
    ensure_database(connection.settings_dict["NAME"])
    call_command("migrate", interactive=False, verbosity=0)
    results = run()
    print_table(results)
    if any(not r.passed for r in results):
        print(f"\nTARGET MISSED: {label}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile of the API list request")
    parser.add_argument("--load-only", action="store_true",
                        help="only the loopback load test (no 1M-row data needed)")
    parser.add_argument("--workflows-only", action="store_true",
                        help="only the workflow engine on a real worker (needs Redis)")
    parser.add_argument("--agents-only", action="store_true",
                        help="only agents: chat turn overhead, knowledge search, cost by day")
    parser.add_argument("--billing-only", action="store_true",
                        help="only billing: usage ingestion, 10,000 invoices in one run")
    parser.add_argument("--crm-only", action="store_true",
                        help="only CRM: provider webhooks, 100,000-row contact import, the dialer")
    parser.add_argument("--analytics-only", action="store_true",
                        help="only analytics: event capture, a dashboard over 10M events")
    parser.add_argument("--webhooks-only", action="store_true",
                        help="only outbound webhooks: one event to 100 endpoints, deliveries/s")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    server_env = dict(os.environ)  # for the load benchmark's server, before the changes
    configure_environment()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from . import (
        admin_changelist,
        agents,
        analytics_capture,
        analytics_dashboard,
        api_list,
        bi_import,
        billing,
        billing_usage,
        crm_dialer,
        crm_import,
        crm_webhooks,
        load,
        reports,
        setup_db,
        webhooks_fanout,
        workflows,
    )
    from .setup_db import LARGE_ROWS, SMALL_ROWS
    from .timing import print_table

    if connection.vendor != "postgresql":
        print("benchmarks need PostgreSQL: set DATABASE_URL to a postgres:// URL", file=sys.stderr)
        return 2
    large_db = connection.settings_dict["NAME"]
    if args.load_only:
        setup_db.ensure_database(large_db)
        call_command("migrate", interactive=False, verbosity=0)
        result = load.run(server_env)
        print_table([result])
        if not result.passed:
            print(f"\nTARGET MISSED: {result.benchmark}")
        return 0
    only = {"workflows_only": workflows.run, "agents_only": agents.run,
            "billing_only": lambda: [*billing_usage.run(), *billing.run()],
            "crm_only": lambda: [*crm_webhooks.run(), *crm_import.run(), *crm_dialer.run()],
            "analytics_only": lambda: [*analytics_capture.run(), *analytics_dashboard.run()],
            "webhooks_only": webhooks_fanout.run}
    chosen = [run for flag, run in only.items() if getattr(args, flag)]
    if chosen:
        setup_db.ensure_database(large_db)
        call_command("migrate", interactive=False, verbosity=0)
        results = [r for run in chosen for r in run()]
        print_table(results)
        missed = [r.benchmark for r in results if not r.passed]
        if missed:
            print(f"\nTARGET MISSED: {', '.join(missed)}")
        return 0
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
        *bi_import.run(),  # date-only and timestamped files
    ]
    results += reports.run()  # over the rows the import benchmark just loaded
    results.append(load.run(server_env))  # gunicorn under 50 clients: connections, errors
    results += workflows.run()  # the engine on a real Celery worker (skipped without Redis)
    results += agents.run()  # chat turn overhead, knowledge search, cost by day
    results += billing_usage.run()  # usage events/s through the batch endpoint
    results += billing.run()  # 10,000 invoices in one period run
    results += crm_webhooks.run()  # provider webhook deliveries/s, duplicates included
    results += crm_import.run()  # contact import of 100,000 rows
    results += crm_dialer.run()  # dialer decisions/s over a 100,000-contact campaign
    results += analytics_capture.run()  # product events/s through the batch endpoint
    results += analytics_dashboard.run()  # 6 widgets over 10,000,000 events
    results += webhooks_fanout.run()  # one event to 100 endpoints on a local receiver
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
