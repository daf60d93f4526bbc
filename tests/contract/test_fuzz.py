"""Property-based fuzzing of every operation in our own OpenAPI schema (schemathesis).

Authenticated as a superuser; every response must be non-5xx and match the
documented status codes, content types and body schemas.
"""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
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


@pytest.fixture
def fuzz_user(db):
    user = UserFactory(is_staff=True, is_superuser=True, email="fuzz@example.com")
    AuditEntryFactory.create_batch(3, actor=user)
    return user


def fresh_session(user) -> tuple[dict, dict]:
    """A new signed-in session per example: a fuzzed logout must not end the run."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    csrf = "f" * 32
    cookies = {"sessionid": client.cookies["sessionid"].value, "csrftoken": csrf}
    return cookies, {"X-CSRFToken": csrf}


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_conforms_to_its_schema(case, fuzz_user):
    cookies, headers = fresh_session(fuzz_user)
    case.cookies = {**(case.cookies or {}), **cookies}
    case.call_and_validate(headers=headers, checks=CHECKS)
