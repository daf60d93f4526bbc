"""Property-based fuzzing of every operation in our own OpenAPI schema (schemathesis).

Authenticated as a superuser; every response must be non-5xx and match the
documented status codes, content types and body schemas.

Every operation gets, every run: the schema's examples, 8 generated cases (fuzzing
phase) and every whole-request case of schemathesis' coverage phase (the positive
case, undocumented methods, content types, missing required parts).  The coverage
phase's per-parameter cases are ~10 per parameter, and a list endpoint's filter set
documents ~100 query parameters (``field__lt``, ``__in``, ``__isnull`` ...), so they
alone came to ~55,000 requests (1,500 for one list endpoint).  Each run therefore
takes the first case of every parameter and a rotating 1/COVERAGE_SLICES of the
others: COVERAGE_SLICES consecutive runs (one per day, or FUZZ_SLICE=0..7) cover
them all.  A failure shows the request to replay (curl); FUZZ_SLICE=<date ordinal % 8>
runs that day's slice again.
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

app = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", app)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]

COVERAGE_SLICES = 8
SLICE = int(os.environ.get("FUZZ_SLICE", datetime.date.today().toordinal())) % COVERAGE_SLICES
_seen_per_parameter: Counter = Counter()


@schema.hook
def filter_case(context, case) -> bool:
    """Runs the coverage phase's per-parameter cases in slices (see the module doc)."""
    meta = case.meta
    if meta is None or meta.phase.name != TestPhase.COVERAGE or meta.phase.data.parameter is None:
        return True
    data = meta.phase.data
    key = (case.operation.label, str(data.parameter_location), data.parameter)
    index = _seen_per_parameter[key]
    _seen_per_parameter[key] += 1
    if index == 0:
        return True
    # A stable hash (not hash()): xdist workers and later runs must agree on the slice.
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
@settings(max_examples=8, deadline=None,
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
