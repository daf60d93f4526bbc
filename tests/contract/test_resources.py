"""Generic API contract: every registered resource, no per-model code.

Adding a model with a viewset and a factory is all it takes to be covered.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.throttling import SimpleRateThrottle

from core import registry, tenancy
from core.models import is_append_only

from .isolation import key_client
from .resources import (
    CATALOGUE,
    DELETE_ONLY,
    MODEL_GUARDED,
    OWNER_SCOPED,
    PARTIAL,
    PUBLIC_READ,
    RESOURCES,
    WRITABLE,
    body_format,
    detail_url,
    invalid_value_for,
    list_url,
    make,
    resource_id,
    writable_payload,
)

pytestmark = pytest.mark.django_db


def assert_error_body(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"status", "code", "message", "errors", "request_id"}
    assert body["status"] == status
    assert body["request_id"] == response["X-Request-ID"]
    return body


def test_every_owned_model_has_an_api_resource():
    exposed = {r.model for r in RESOURCES}
    assert exposed == set(registry.owned_models())


@pytest.mark.parametrize("resource", RESOURCES, ids=resource_id)
def test_anonymous_requests_get_401(resource, anon_client):
    obj = make(resource)
    for response in (anon_client.get(list_url(resource)),
                     anon_client.get(detail_url(resource, obj.pk))):
        body = assert_error_body(response, 401)
        assert body["code"] == "not_authenticated"
        assert response.has_header("WWW-Authenticate")


@pytest.mark.parametrize("resource", MODEL_GUARDED, ids=resource_id)
def test_users_without_model_permission_get_403(resource, user_client):
    assert_error_body(user_client.get(list_url(resource)), 403)


@pytest.mark.parametrize("resource", OWNER_SCOPED, ids=resource_id)
def test_owner_scoped_resources_hide_other_users_rows(resource, user_client, user):
    others = make(resource)
    own = make(resource, user=user)
    ids = [row["id"] for row in user_client.get(list_url(resource)).json()["results"]]
    assert ids == [own.pk]
    assert_error_body(user_client.get(detail_url(resource, others.pk)), 404)


@pytest.mark.parametrize("resource", CATALOGUE, ids=resource_id)
def test_catalogue_resources_are_read_by_anyone_signed_in_and_written_by_none(
        resource, user_client):
    from tests.factories import ApiKeyFactory

    obj = make(resource)
    key = key_client(ApiKeyFactory(role="viewer").raw)  # a key of some unrelated workspace
    for client in (user_client, key):
        ids = [row["id"] for row in client.get(list_url(resource), {"page_size": 500})
               .json()["results"]]
        assert obj.pk in ids
        assert client.get(detail_url(resource, obj.pk)).status_code == 200
        detail = detail_url(resource, obj.pk)
        for answer in (client.post(list_url(resource), {}, format="json"),
                       client.put(detail, {}, format="json"),
                       client.patch(detail, {}, format="json"), client.delete(detail)):
            assert_error_body(answer, 405)
    assert resource.model.objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("resource", PUBLIC_READ, ids=resource_id)
def test_public_read_resources_are_read_by_anyone_signed_in_and_written_by_staff(
        resource, user_client):
    from tests.factories import ApiKeyFactory

    obj = make(resource)
    payload = writable_payload(resource)
    for client in (user_client, key_client(ApiKeyFactory(role="admin").raw)):
        assert client.get(detail_url(resource, obj.pk)).status_code == 200
        ids = [row["id"] for row in client.get(list_url(resource), {"page_size": 500})
               .json()["results"]]
        assert obj.pk in ids
        detail = detail_url(resource, obj.pk)
        for answer in (client.post(list_url(resource), payload, format=body_format(payload)),
                       client.patch(detail, {}, format="json"), client.delete(detail)):
            assert answer.status_code in (401, 403), answer.content
    assert resource.model.objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("resource", RESOURCES, ids=resource_id)
def test_list_and_retrieve_agree(resource, staff_client):
    objects = [make(resource) for _ in range(3)]
    listed = staff_client.get(list_url(resource), {"page_size": 100})
    assert listed.status_code == 200
    rows = {row["id"]: row for row in listed.json()["results"]}
    for obj in objects:
        detail = staff_client.get(detail_url(resource, obj.pk))
        assert detail.status_code == 200
        # The list's fast path must render exactly what the serializer does.
        assert rows[obj.pk] == detail.json()


@pytest.mark.parametrize("resource", RESOURCES, ids=resource_id)
def test_unknown_object_is_404_in_the_error_shape(resource, staff_client):
    body = assert_error_body(staff_client.get(detail_url(resource, 987654321)), 404)
    assert body["code"] == "not_found"


@pytest.mark.parametrize("resource", WRITABLE, ids=resource_id)
def test_create_update_delete(resource, staff_client):
    payload = writable_payload(resource)
    created = staff_client.post(list_url(resource), payload, format=body_format(payload))
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    for name, value in payload.items():
        if not hasattr(value, "read"):
            assert created.json().get(name, value) == value, name

    if "update" in resource.operations:
        # Related rows must share the object's workspace, which never changes.
        created_obj = resource.model.objects.get(pk=pk)
        same_tenant = ({"workspace": created_obj.workspace}
                       if isinstance(created_obj, tenancy.WorkspaceScoped) else {})
        replacement = writable_payload(resource, **same_tenant)
        replacement.pop("workspace", None)
        updated = staff_client.put(detail_url(resource, pk), replacement,
                                   format=body_format(replacement))
        assert updated.status_code == 200, updated.content
        for name, value in replacement.items():
            if not hasattr(value, "read"):
                assert updated.json().get(name, value) == value, name

    if "delete" in resource.operations:
        assert staff_client.delete(detail_url(resource, pk)).status_code == 204
        assert staff_client.get(detail_url(resource, pk)).status_code == 404
    else:  # created, never deleted (e.g. import jobs: the record of what was loaded)
        assert_error_body(staff_client.delete(detail_url(resource, pk)), 405)
        assert staff_client.get(detail_url(resource, pk)).status_code == 200


@pytest.mark.parametrize("resource", DELETE_ONLY, ids=resource_id)
def test_delete(resource, staff_client):
    obj = make(resource)
    assert staff_client.delete(detail_url(resource, obj.pk)).status_code == 204
    assert staff_client.get(detail_url(resource, obj.pk)).status_code == 404
    assert not resource.model.objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("resource", PARTIAL, ids=resource_id)
def test_operations_not_offered_answer_405(resource, staff_client):
    assert is_append_only(resource.model) or getattr(resource.model, "api_operations", None)
    obj = make(resource)
    url = detail_url(resource, obj.pk)
    calls = {
        "create": lambda: staff_client.post(list_url(resource), {}, format="json"),
        "update": lambda: staff_client.put(url, {}, format="json"),
        "delete": lambda: staff_client.delete(url),
    }
    for operation, call in calls.items():
        if operation not in resource.operations:
            assert_error_body(call(), 405)
    if "update" not in resource.operations:
        assert_error_body(staff_client.patch(url, {}, format="json"), 405)
    if "delete" not in resource.operations:
        assert resource.model.objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("resource", WRITABLE, ids=resource_id)
def test_invalid_payloads_get_400_with_field_errors(resource, staff_client):
    serializer = resource.viewset.serializer_class()
    payload = writable_payload(resource)
    before = resource.model.objects.count()
    checked = 0
    for name, field in serializer.fields.items():
        bad = invalid_value_for(field)
        if field.read_only or bad is None:
            continue
        body = {**payload, name: bad}
        response = staff_client.post(list_url(resource), body, format=body_format(body))
        body = assert_error_body(response, 400)
        assert name in body["errors"], (name, body)
        checked += 1
    assert checked, "no field with a generic invalid value; extend invalid_value_for"
    for junk in ([1, 2], "text", 42):
        assert_error_body(staff_client.post(list_url(resource), junk, format="json"), 400)
    malformed = staff_client.post(list_url(resource), "{not json",
                                  content_type="application/json")
    assert_error_body(malformed, 400)
    assert resource.model.objects.count() == before


@pytest.mark.parametrize("resource", RESOURCES, ids=resource_id)
def test_list_query_count_does_not_grow_with_rows(resource, staff_client):
    make(resource)
    staff_client.get(list_url(resource))  # warm the session and content-type caches
    with CaptureQueriesContext(connection) as one:
        assert staff_client.get(list_url(resource)).status_code == 200
    for _ in range(24):
        make(resource)
    with CaptureQueriesContext(connection) as many:
        response = staff_client.get(list_url(resource))
    assert len(response.json()["results"]) >= 25
    assert len(many) == len(one), [q["sql"] for q in many.captured_queries]


@pytest.mark.parametrize("resource", RESOURCES, ids=resource_id)
def test_every_filterable_field_has_a_filter(resource):
    from core.api.filters import UNFILTERABLE
    from core.models import sensitive_fields

    hidden = sensitive_fields(resource.model)
    expected = {
        f.name for f in resource.model._meta.concrete_fields
        if not isinstance(f, UNFILTERABLE) and f.name not in hidden
    }
    filters = set(resource.viewset.filterset_class.base_filters)
    assert expected <= filters, f"missing filters: {sorted(expected - filters)}"


@pytest.mark.parametrize("resource", RESOURCES, ids=resource_id)
def test_filters_narrow_the_list(resource, staff_client):
    wanted, other = make(resource), make(resource)
    response = staff_client.get(list_url(resource), {"id": wanted.pk})
    assert [row["id"] for row in response.json()["results"]] == [wanted.pk]
    assert other.pk != wanted.pk
    bad = staff_client.get(list_url(resource), {"id": "not-a-number"})
    assert "id" in assert_error_body(bad, 400)["errors"]


@pytest.mark.parametrize("resource", RESOURCES, ids=resource_id)
def test_keyset_pagination_walks_every_row_once(resource, staff_client):
    made = {make(resource).pk for _ in range(5)}
    seen, url = [], list_url(resource) + "?page_size=2"
    while url:
        page = staff_client.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert made <= set(seen)
    assert len(seen) == len(set(seen))


def test_throttled_requests_get_429_with_retry_after(staff_client, monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": "2/min", "anon": "2/min"})
    url = list_url(RESOURCES[0])
    assert staff_client.get(url).status_code == 200
    assert staff_client.get(url).status_code == 200
    response = staff_client.get(url)
    body = assert_error_body(response, 429)
    assert body["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
