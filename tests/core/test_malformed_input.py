"""Malformed input is a 4xx with a stable code, never a 500 (issue #10, items 6 to 9)."""

import base64

import pytest
from django.urls import reverse

from accounts.api.throttles import AuthAccountThrottle
from core.api import parsers
from core.api.renderers import ORJSONRenderer
from tests.contract.isolation import key_client, session_client
from tests.factories import (
    ApiKeyFactory,
    MembershipFactory,
    ReportDefinitionFactory,
    UserFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.django_db
LOGIN = "/api/v1/auth/login/"


# Item 6: nesting and size are bounded before the decoder recurses.

def test_deeply_nested_json_is_refused_before_parsing_even_unauthenticated(anon_client):
    answer = anon_client.post(LOGIN, "[" * 100_000, content_type="application/json")
    assert answer.status_code == 400
    assert answer.json()["code"] == "too_deep"


def test_deeply_nested_objects_are_refused_on_a_signed_in_write(staff_client):
    body = '{"a":' * 5_000 + "1" + "}" * 5_000
    answer = staff_client.post("/api/v1/tags/", body, content_type="application/json")
    assert answer.status_code == 400
    assert answer.json()["code"] == "too_deep"


def test_upload_endpoints_use_the_bounded_parser_too(staff_client):
    answer = staff_client.post(reverse("workspaces-file-list"), "[" * 100_000,
                               content_type="application/json")
    assert answer.status_code == 400
    assert answer.json()["code"] == "too_deep"


def test_a_body_over_the_size_limit_is_413(anon_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    body = '{"email": "a@example.com", "password": "' + "x" * 2_000 + '"}'
    answer = anon_client.post(LOGIN, body, content_type="application/json")
    assert answer.status_code == 413
    assert answer.json()["code"] == "too_large"
    form = anon_client.post(LOGIN, "password=" + "x" * 2_000,
                            content_type="application/x-www-form-urlencoded")
    assert form.status_code == 413


def test_ordinary_nesting_still_parses(staff_client):
    workspace = WorkspaceFactory()
    settings_value = {"a": [[{"b": '[[[[[[ not brackets \\" ]]]'}]]}
    answer = staff_client.patch(reverse("workspaces-workspace-detail", args=[workspace.pk]),
                                {"settings": settings_value}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["settings"] == settings_value


@pytest.mark.parametrize(("body", "depth"), [
    (b"[]", 1),
    (b'[{"a": [1, {"b": []}]}]', 5),
    (b'["[[[[", "\\"[[[["]', 1),  # brackets in strings, escaped quotes included
    (b'{"k\\\\": [[]]}', 3),  # an escaped backslash ends the escape before the quote
    (b"[" * 100_000, 65),  # the scan stops just past the limit
])
def test_nesting_depth_counts_brackets_outside_strings(body, depth):
    assert parsers.nesting_depth(body, stop_after=64) == min(depth, 65)


# Item 7: a cursor is input like any other.

@pytest.mark.parametrize("cursor", [
    "cD0yMDI0LTAxLTAx",  # p=2024-01-01 under an integer ordering
    base64.b64encode(b"p=%00").decode(),
    base64.b64encode(b"o=-3").decode(),
    "not base64 at all",
])
def test_a_forged_cursor_is_400_invalid_cursor(staff_client, cursor):
    answer = staff_client.get("/api/v1/users/", {"cursor": cursor})
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_cursor"


def test_a_forged_cursor_on_a_date_ordering_is_400(staff_client):
    cursor = base64.b64encode(b"p=yesterday").decode()
    answer = staff_client.get("/api/v1/tags/", {"cursor": cursor, "ordering": "created_at"})
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_cursor"


def test_a_real_cursor_still_pages(staff_client):
    UserFactory.create_batch(3)
    first = staff_client.get("/api/v1/users/", {"page_size": 2}).json()
    second = staff_client.get(first["next"]).json()
    assert second["results"] and {u["id"] for u in second["results"]}.isdisjoint(
        {u["id"] for u in first["results"]})


# Item 8: lone surrogates are refused as input, and never break rendering or throttles.

def test_a_lone_surrogate_in_a_choice_field_is_a_clear_400(staff_client):
    workspace = WorkspaceFactory()
    body = '{"workspace": WS, "name": "k", "role": "\\ud800"}'.replace("WS", str(workspace.pk))
    answer = staff_client.post("/api/v1/api-keys/", body, content_type="application/json")
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_text"


def test_a_lone_surrogate_in_a_report_time_zone_is_a_clear_400(staff_client):
    definition = ReportDefinitionFactory()
    answer = staff_client.patch(reverse("reports-reportdefinition-detail", args=[definition.pk]),
                                '{"schedule_timezone": "Europe/\\udfff"}',
                                content_type="application/json")
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_text"


def test_a_lone_surrogate_email_on_sign_in_is_a_clear_400(anon_client):
    answer = anon_client.post(LOGIN, '{"email": "\\ud800@example.com", "password": "x"}',
                              content_type="application/json")
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_text"


def test_paired_surrogate_escapes_are_ordinary_text(anon_client):
    # "\ud83d\ude00" is one emoji written as a JSON escape pair: valid input.
    answer = anon_client.post(LOGIN, '{"email": "\\ud83d\\ude00@example.com", "password": "x"}',
                              content_type="application/json")
    assert answer.status_code == 401
    assert answer.json()["code"] != "invalid_text"


def test_the_renderer_escapes_surrogates_instead_of_failing():
    rendered = ORJSONRenderer().render({"message": '"\ud800" is not a valid choice.',
                                        "errors": {"role\udfff": ["\ud800"]}})
    assert rendered == b'{"message":"\\"\\\\ud800\\" is not a valid choice.",' \
                       b'"errors":{"role\\\\udfff":["\\\\ud800"]}}'


def test_the_account_throttle_key_accepts_any_text():
    class Request:
        data = {"email": "\ud800@example.com"}

    key = AuthAccountThrottle().get_cache_key(Request(), None)
    assert key and key.isascii()


# Item 9: user-only endpoints answer an API key with a clear 403.

@pytest.mark.parametrize("path", ["/api/v1/auth/me/", "/api/v1/auth/sessions/",
                                  "/api/v1/auth/2fa/totp/", "/api/v1/auth/refresh/"])
def test_user_only_endpoints_refuse_api_keys_clearly(path):
    key = ApiKeyFactory(role="admin")
    client = key_client(key.raw)
    answer = client.get(path) if "2fa" not in path and "refresh" not in path \
        else client.post(path, {}, format="json")
    assert answer.status_code == 403
    assert answer.json()["code"] == "user_credentials_required"
    assert "API key" in answer.json()["message"]


def test_user_only_endpoints_still_serve_users_and_refuse_anonymous(anon_client):
    user = UserFactory()
    MembershipFactory(user=user)
    client = session_client(user)
    assert client.get("/api/v1/auth/me/").status_code == 200
    assert client.get("/api/v1/auth/sessions/").status_code == 200
    assert anon_client.get("/api/v1/auth/me/").status_code == 401
