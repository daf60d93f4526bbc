"""Property-based fuzzing of every operation in our own OpenAPI schema (schemathesis).

Authenticated as a superuser; every response must be non-5xx and match the
documented status codes, content types and body schemas.

Every operation gets, every run: the schema's examples, FUZZ_EXAMPLES generated cases
(fuzzing phase, 8 by default) and the whole-request cases of schemathesis' coverage
phase (the positive case, undocumented methods, missing body or credentials).  Its
other cases come in families whose size grows with an operation's fields: ~10 per
query parameter (a list's filter set documents ~100: ``field__lt``, ``__in`` ...),
one per optional parameter, combinations of optional properties, bodies with
unexpected properties.  Over the whole schema they come to ~100,000 requests (20 times
the fuzzing phase), so each run sends the first case of each family of each operation
and a rotating 1/FUZZ_SLICES of the rest (8 by default, by a stable hash of the case):
FUZZ_SLICES consecutive runs (one per day, or FUZZ_SLICE=0..7) cover them all, and a
run costs a fixed share of the schema.  A failure shows the request to replay (curl);
FUZZ_SLICE=<date ordinal % 8> runs that day's slice again; FUZZ_SLICE=all sends every
case (a deep run: hours), FUZZ_EXAMPLES=100 explores further.
"""

import datetime
import os
import zlib
from collections import Counter

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.db import connection, transaction
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import AuditEntryFactory, UserFactory

from .openapi import openapi_schema

# The document the schema view serves, generated here rather than fetched through the
# view (see .openapi); requests still go through the whole WSGI app.
schema = schemathesis.openapi.from_dict(openapi_schema())
schema.app = get_wsgi_application()
schema.location = "/api/v1/schema/"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
COVERAGE_SLICES = int(os.environ.get("FUZZ_SLICES", "8"))
_SLICE = os.environ.get("FUZZ_SLICE", str(datetime.date.today().toordinal()))
SLICE = None if _SLICE == "all" else int(_SLICE) % COVERAGE_SLICES


#: Coverage-phase cases (by the start of their description) whose number grows with an
#: operation's fields, sent in slices like the per-parameter ones.
SLICED_FAMILIES = ("All required properties and optional", "All required and",
                   "Object with unexpected properties")
_seen_per_family: Counter = Counter()


def _family(case) -> str | None:
    """The sliced family a coverage case belongs to, or None for a whole-request case."""
    meta = case.meta
    if meta is None or meta.phase.name != TestPhase.COVERAGE:
        return None
    if meta.phase.data.parameter is not None:
        return "parameter"
    description = meta.phase.data.description or ""
    return next((f for f in SLICED_FAMILIES if description.startswith(f)), None)


@schema.hook
def filter_case(context, case) -> bool:
    """Sends the coverage phase's families in slices (see the module doc)."""
    family = _family(case)
    if SLICE is None or family is None:
        return True
    key = (case.operation.label, family)
    index = _seen_per_family[key]
    _seen_per_family[key] += 1
    if index == 0:
        return True
    # A stable hash (not hash()): xdist workers and later runs must agree on the slice.
    data = case.meta.phase.data
    identity = f"{case.operation.label}|{data.description}|{case.query}|{case.body}|" \
               f"{case.path_parameters}|{case.headers}"
    return zlib.crc32(identity.encode()) % COVERAGE_SLICES == SLICE


@pytest.fixture
def fuzz_user(db):
    user = UserFactory(is_staff=True, is_superuser=True, email="fuzz@example.com")
    AuditEntryFactory.create_batch(3, actor=user)
    return user


class _Session:
    """The fuzz user's signed-in session, made again only once a fuzzed request ended it
    (a logout, a password change, a deleted session): a fuzzed logout must not end the
    run, and signing in before every one of thousands of requests cost a third of them."""

    csrf = "f" * 32

    def __init__(self, user):
        self.user, self.key = user, None

    def cookies(self) -> dict:
        from django.contrib.sessions.models import Session

        if self.key is None or not Session.objects.filter(session_key=self.key).exists():
            from django.test import Client

            client = Client()
            client.force_login(self.user)
            self.key = client.cookies["sessionid"].value
        return {"sessionid": self.key, "csrftoken": self.csrf}

    def after(self, response) -> None:
        cookies = response.headers.get("set-cookie", [])
        if response.status_code in (401, 403) or any("sessionid=" in c for c in cookies):
            self.key = None


@pytest.fixture
def fuzz_session(fuzz_user):
    return _Session(fuzz_user)


@pytest.fixture
def one_connection():
    """Keep Django from closing (returning to the pool) the test's connection, with its
    open transaction, at the end of each request, as its own test client does."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def _statement_failed() -> bool:
    """Whether a statement failed and aborted the transaction: a DataError (a number out
    of the column's range) is answered 400 and, under autocommit as in production, costs
    nothing more; in the test's transaction it must be rolled back to the savepoint."""
    if connection.vendor != "postgresql":
        return False
    from psycopg.pq import TransactionStatus

    return connection.connection.info.transaction_status == TransactionStatus.INERROR


# One transaction per operation, rolled back, instead of emptying every table after each
# (transaction=True): the app runs in this thread, on this connection.  Callbacks the
# request left for the commit (events, eager Celery tasks) run right after it, so one
# that raises still fails the test.
@pytest.mark.django_db
@pytest.mark.usefixtures("one_connection")
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_conforms_to_its_schema(case, fuzz_session, django_capture_on_commit_callbacks):
    case.cookies = {**(case.cookies or {}), **fuzz_session.cookies()}
    with django_capture_on_commit_callbacks(execute=True):
        savepoint = transaction.savepoint()
        response = case.call(headers={"X-CSRFToken": fuzz_session.csrf})
        if _statement_failed():
            transaction.savepoint_rollback(savepoint)
        else:
            transaction.savepoint_commit(savepoint)
    fuzz_session.after(response)
    case.validate_response(response, checks=CHECKS)
