"""Generic tenancy tests: every workspace-scoped resource, two workspaces, every role.

They iterate the registry, so a model added later is covered with no new code.
"""

import pytest
from django.test import override_settings
from django.urls import path, reverse
from rest_framework import permissions, serializers, viewsets

from core import tenancy
from tests.factories import TagFactory
from workspaces.models import Tag, Workspace

from .isolation import leaks, make_tenant, object_in
from .resources import SCOPED, body_format, detail_url, list_url, resource_id, writable_payload

pytestmark = pytest.mark.django_db

CREATABLE = [r for r in SCOPED if "create" in r.operations and r.model is not Workspace]
WRITABLE = [r for r in SCOPED if r.operations & {"create", "update", "delete"}]
ADMIN_LEVEL = [r for r in WRITABLE if tenancy.required_role(r.model, "change") == tenancy.ADMIN]


@pytest.fixture
def a():
    return make_tenant()


@pytest.fixture
def b():
    return make_tenant()


def test_every_scoped_model_has_a_scoped_resource():
    scoped_models = {m for m in __import__("core.registry").registry.owned_models()
                     if tenancy.is_scoped(m)}
    assert scoped_models == {r.model for r in SCOPED}


@pytest.mark.parametrize("resource", SCOPED, ids=resource_id)
def test_another_tenant_cannot_see_or_touch_objects(resource, a, b):
    obj = object_in(resource, a.workspace)
    for who, client in [*b.clients.items(), *(("key-" + k, c) for k, c in b.key_clients.items())]:
        problems = leaks(client, list_url(resource), detail_url(resource, obj.pk), obj,
                         resource.operations)
        assert problems == [], f"{who} of workspace B: {problems}"


@pytest.mark.parametrize("resource", SCOPED, ids=resource_id)
def test_members_see_their_own_workspace(resource, a):
    obj = object_in(resource, a.workspace)
    for client in [a.clients["viewer"], a.key_clients["viewer"]]:
        assert client.get(detail_url(resource, obj.pk)).status_code == 200
        ids = [r["id"] for r in client.get(list_url(resource), {"page_size": 500})
               .json()["results"]]
        assert obj.pk in ids


@pytest.mark.parametrize("resource", CREATABLE, ids=resource_id)
def test_creating_into_or_referencing_another_tenant_is_refused(resource, a, b):
    payload = writable_payload(resource, workspace=b.workspace)
    admin_b = b.clients["admin"]
    before = resource.model.objects.count()

    foreign = {**payload, "workspace": a.workspace.pk}
    response = admin_b.post(list_url(resource), foreign, format=body_format(foreign))
    assert response.status_code == 400 and "workspace" in response.json()["errors"]

    serializer = resource.viewset.serializer_class()
    referenced = 0  # rows of this very model made to be referenced (self-referencing FKs)
    for name, field in serializer.fields.items():
        target = getattr(field, "child_relation", field)
        model = getattr(getattr(target, "queryset", None), "model", None)
        if field.read_only or name == "workspace" or model is None or \
                not tenancy.is_scoped(model):
            continue
        from tests.factories import factory_for

        theirs = factory_for(model)(workspace=a.workspace)
        referenced += model is resource.model
        value = [theirs.pk] if hasattr(field, "child_relation") else theirs.pk
        body = {**payload, name: value}
        response = admin_b.post(list_url(resource), body, format=body_format(body))
        assert response.status_code == 400, (name, response.content)
        assert name in response.json()["errors"]
    assert resource.model.objects.count() == before + referenced

    # The same body in B's own workspace works: the refusals above are about tenancy.
    fresh = writable_payload(resource, workspace=b.workspace)
    assert admin_b.post(list_url(resource), fresh, format=body_format(fresh)).status_code == 201


@pytest.mark.parametrize("resource", WRITABLE, ids=resource_id)
def test_viewers_and_viewer_keys_cannot_write(resource, a):
    obj = object_in(resource, a.workspace)
    for client in (a.clients["viewer"], a.key_clients["viewer"]):
        if "create" in resource.operations and resource.model is not Workspace:
            payload = writable_payload(resource, workspace=a.workspace)
            response = client.post(list_url(resource), payload, format=body_format(payload))
            assert response.status_code == 403, response.content
        if "update" in resource.operations:
            assert client.patch(detail_url(resource, obj.pk), {}, format="json") \
                .status_code == 403
        if "delete" in resource.operations:
            assert client.delete(detail_url(resource, obj.pk)).status_code == 403
    assert type(obj)._default_manager.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("resource", ADMIN_LEVEL, ids=resource_id)
def test_members_cannot_manage_admin_level_resources(resource, a):
    obj = object_in(resource, a.workspace)
    member, admin = a.clients["member"], a.clients["admin"]
    if "update" in resource.operations:
        assert member.patch(detail_url(resource, obj.pk), {}, format="json").status_code == 403
        assert admin.patch(detail_url(resource, obj.pk), {}, format="json").status_code == 200
    if "create" in resource.operations and resource.model is not Workspace:
        payload = writable_payload(resource, workspace=a.workspace)
        assert member.post(list_url(resource), payload,
                           format=body_format(payload)).status_code == 403


# --- the tests of the tests: a viewset that skips the kernel must be caught ---------------

class _TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "workspace", "name", "color"]


class UnscopedTagViewSet(viewsets.ModelViewSet):
    """Deliberately wrong: no tenancy, just "signed in"."""

    queryset = Tag.objects.all()
    serializer_class = _TagSerializer
    permission_classes = [permissions.IsAuthenticated]


_list = UnscopedTagViewSet.as_view({"get": "list", "post": "create"})
_detail = UnscopedTagViewSet.as_view({"get": "retrieve", "put": "update",
                                      "patch": "partial_update", "delete": "destroy"})
urlpatterns = [
    path("leaky/tags/", _list, name="leaky-list"),
    path("leaky/tags/<int:pk>/", _detail, name="leaky-detail"),
]


@override_settings(ROOT_URLCONF=__name__)
def test_an_unscoped_viewset_fails_the_isolation_check(a, b):
    obj = TagFactory(workspace=a.workspace)
    problems = leaks(b.clients["member"], reverse("leaky-list"),
                     reverse("leaky-detail", args=[obj.pk]), obj, {"update", "delete"})
    assert "listed" in problems and "retrieve answered 200" in problems
    assert "deleted" in problems
