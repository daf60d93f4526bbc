"""Generic admin contract: every model registered in the back office, no per-model code.

Registering a ModelAdmin and adding a factory (``tests/factories/``) is all it takes
to be covered: the pages open for a superuser, the changelist costs the same number
of queries for 1 row as for 25, and staff of another workspace find nothing there.
"""

import html
import re

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import tenancy
from tests.factories import GroupFactory, MembershipFactory, UserFactory, factory_for

pytestmark = pytest.mark.django_db

MODELS = sorted(admin.site._registry, key=lambda model: model._meta.label)
SCOPED = [model for model in MODELS if tenancy.is_scoped(model)]
WORKSPACE = apps.get_model(settings.TENANCY_WORKSPACE_MODEL)


def label(model) -> str:
    return model._meta.label


def page(model, name: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{name}", args=args)


def make(model, **kwargs):
    return factory_for(model)(**kwargs)


def model_admin(model):
    return admin.site._registry[model]


def as_request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.fixture
def root(client, superuser):
    client.force_login(superuser)
    return client


@pytest.mark.parametrize("model", MODELS, ids=label)
def test_every_page_of_the_model_opens_for_a_superuser(model, root, superuser):
    obj = make(model)
    request = as_request(superuser)

    changelist = root.get(page(model, "changelist"))
    assert changelist.status_code == 200
    # The row is listed, linked to its page (pks are quoted in admin URLs).
    assert page(model, "change", quote(obj.pk)) in changelist.content.decode()

    if model_admin(model).has_add_permission(request):
        assert root.get(page(model, "add")).status_code == 200
    assert root.get(page(model, "change", obj.pk)).status_code == 200
    assert root.get(page(model, "history", obj.pk)).status_code == 200
    if model_admin(model).has_delete_permission(request, obj):
        assert root.get(page(model, "delete", obj.pk)).status_code == 200


def _changelist_queries(client, model) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(page(model, "changelist"))
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("model", MODELS, ids=label)
def test_the_changelist_costs_the_same_for_1_and_25_rows(model, root):
    make(model)
    _changelist_queries(root, model)  # warm per-process caches (content types, site)
    one = _changelist_queries(root, model)
    for _ in range(24):
        make(model)
    many = _changelist_queries(root, model)
    # Exactly equal: any per-row query (an N+1) would add at least 24.
    assert many == one, f"{label(model)}: {one} queries for 1 row, {many} for 25"


SEARCHES = ("abc", "12345678901234567890", "x' \"%_\\", "2024-13-45", "a" * 300)
FILTERED = [model for model in MODELS
            if model_admin(model).list_filter or model_admin(model).search_fields]


@pytest.mark.parametrize("model", FILTERED, ids=label)
def test_every_filter_choice_and_any_search_open_the_changelist(model, root):
    make(model)
    url = page(model, "changelist")
    body = root.get(url).content.decode()
    sidebar = body.split('id="changelist-filter"', 1)[-1] if model_admin(model).list_filter \
        else ""
    choices = {html.unescape(href) for href in re.findall(r'href="(\?[^"]*)"', sidebar)}
    assert not model_admin(model).list_filter or choices
    for query in choices:
        assert root.get(url + query).status_code == 200, query
    if model_admin(model).search_fields:
        for text in SEARCHES:
            assert root.get(url, {"q": text}).status_code == 200, text


#: More than the heaviest form page needs today (~21, a report definition): a query per
#: choice of a picker (170+ permissions, every content type...) goes far beyond it.
FORM_QUERY_CEILING = 40


@pytest.mark.parametrize("model", MODELS, ids=label)
def test_form_pages_run_no_query_per_choice(model, root, superuser):
    obj = make(model)
    urls = [page(model, "change", obj.pk)]
    if model_admin(model).has_add_permission(as_request(superuser)):
        urls.append(page(model, "add"))
    for url in urls:
        root.get(url)  # warm per-process caches
        with CaptureQueriesContext(connection) as queries:
            assert root.get(url).status_code == 200
        assert len(queries) <= FORM_QUERY_CEILING, f"{url}: {len(queries)} queries"


def staff_of(workspace, model, client):
    """Staff holding every permission on ``model`` through a group, owner of ``workspace``."""
    user = UserFactory(is_staff=True)
    group = GroupFactory()
    group.permissions.set(Permission.objects.filter(
        content_type__app_label=model._meta.app_label,
        codename__in=[f"{action}_{model._meta.model_name}" for action in tenancy.ACTIONS]))
    user.groups.add(group)
    MembershipFactory(workspace=workspace, user=user, role=tenancy.OWNER)
    client.force_login(user)
    return user


def workspace_of(obj):
    return getattr(obj, type(obj).tenancy_scope_field)


@pytest.mark.parametrize("model", SCOPED, ids=label)
def test_staff_of_another_workspace_get_404_on_the_object_pages(model, client):
    foreign = make(model)
    own_workspace = make(WORKSPACE)
    own = own_workspace if model is WORKSPACE else make(model, workspace=own_workspace)
    assert workspace_of(foreign) != own_workspace.pk
    staff = staff_of(own_workspace, model, client)
    deletes = model_admin(model).has_delete_permission(as_request(staff), own)

    # The same pages answer for a row of the staff member's own workspace...
    assert client.get(page(model, "change", own.pk)).status_code == 200
    if deletes:
        assert client.get(page(model, "delete", own.pk)).status_code == 200
    # ...and another tenant's row is simply absent, exactly like an unknown id (an admin
    # that deletes nothing refuses every delete page alike).
    for name in ("change", "delete", "history"):
        expected = 403 if name == "delete" and not deletes else 404
        assert client.get(page(model, name, foreign.pk)).status_code == expected, name
        assert client.get(page(model, name, 2_000_000_000)).status_code == expected, name
    assert page(model, "change", foreign.pk) not in \
        client.get(page(model, "changelist")).content.decode()


def own_object_pages(model) -> list[str]:
    """URL names of the admin's own object pages: reports, downloads, polls, forms."""
    standard = {f"{model._meta.app_label}_{model._meta.model_name}_{name}"
                for name in ("change", "delete", "history")}
    return [pattern.name for pattern in model_admin(model).get_urls()
            if "<path:object_id>" in str(pattern.pattern) and pattern.name
            and pattern.name not in standard]


OWN_PAGES = [(model, name) for model in MODELS for name in own_object_pages(model)]


@pytest.mark.parametrize(("model", "name"), OWN_PAGES,
                         ids=[name for _, name in OWN_PAGES])
def test_an_admins_own_object_pages_answer_like_its_change_page(model, name, client):
    obj = make(model)

    def both(object_id):
        return (client.get(page(model, "change", object_id)).status_code,
                client.get(reverse(f"admin:{name}", args=[object_id])).status_code)

    # Staff of the row's workspace without the model's permissions: refused, 403.
    user = UserFactory(is_staff=True)
    if tenancy.is_scoped(model):
        MembershipFactory(workspace_id=workspace_of(obj), user=user, role=tenancy.OWNER)
    client.force_login(user)
    assert both(obj.pk) == (403, 403)
    # Another tenant's row, an unknown id or a malformed one: absent, 404.
    if tenancy.is_scoped(model):
        staff_of(make(WORKSPACE), model, client)
        assert both(obj.pk) == (404, 404)
    for object_id in (2_000_000_000, "not-an-id"):
        assert both(object_id)[1] == 404, object_id


@pytest.mark.parametrize(("model", "name"), OWN_PAGES,
                         ids=[name for _, name in OWN_PAGES])
def test_an_admins_own_pages_lead_back_to_the_list_and_the_row(model, name, root):
    obj = make(model)
    response = root.get(reverse(f"admin:{name}", args=[obj.pk]))
    assert response.status_code in (200, 404)  # 404: nothing of that kind for this row yet
    if getattr(response, "template_name", None):  # an admin page, not a file or JSON
        crumbs = response.content.decode().split('<div class="breadcrumbs">', 1)[1]
        crumbs = crumbs.split("</div>", 1)[0]
        assert page(model, "changelist") in crumbs
        assert page(model, "change", quote(obj.pk)) in crumbs
