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
def session(db):
    from django.test import Client

    user = UserFactory(is_staff=True, is_superuser=True, email="fuzz@example.com")
    AuditEntryFactory.create_batch(3, actor=user)
    client = Client()
    client.force_login(user)
    csrf = "f" * 32
    return {"sessionid": client.cookies["sessionid"].value, "csrftoken": csrf}, {
        "X-CSRFToken": csrf
    }


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_conforms_to_its_schema(case, session):
    cookies, headers = session
    case.cookies = {**(case.cookies or {}), **cookies}
    case.call_and_validate(headers=headers, checks=CHECKS)
