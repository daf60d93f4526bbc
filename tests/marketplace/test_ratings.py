"""Ratings: one per user and component, 1 to 5, your own only; the component's average
and count follow every create, change and delete."""

from decimal import Decimal

import pytest

from marketplace.models import ComponentRating
from tests import factories as f
from tests.factories.marketplace import MarketplaceComponentFactory

from .conftest import API, client_for, component_with

pytestmark = pytest.mark.django_db
URL = f"{API}/ratings/"


def figures(component):
    component.refresh_from_db()
    return component.rating_average, component.rating_count


def test_the_average_follows_create_change_and_delete():
    component = component_with()
    ana, bo = client_for(f.UserFactory()), client_for(f.UserFactory())
    first = ana.post(URL, {"component": component.pk, "score": 5}, format="json")
    assert first.status_code == 201, first.content
    assert bo.post(URL, {"component": component.pk, "score": 2, "comment": "Meh"},
                   format="json").status_code == 201
    assert figures(component) == (Decimal("3.50"), 2)
    pk = first.json()["id"]
    assert ana.patch(f"{URL}{pk}/", {"score": 4}, format="json").status_code == 200
    assert figures(component) == (Decimal("3.00"), 2)
    assert ana.delete(f"{URL}{pk}/").status_code == 204
    assert figures(component) == (Decimal("2.00"), 1)
    shown = client_for(f.UserFactory()).get(f"{API}/components/{component.pk}/").json()
    assert (shown["rating_average"], shown["rating_count"]) == ("2.00", 1)


def test_one_rating_per_user_and_component():
    component = component_with()
    client = client_for(f.UserFactory())
    assert client.post(URL, {"component": component.pk, "score": 5},
                       format="json").status_code == 201
    again = client.post(URL, {"component": component.pk, "score": 1}, format="json")
    assert again.status_code == 400 and "component" in again.json()["errors"]
    assert figures(component) == (Decimal("5.00"), 1)


def test_you_see_and_change_only_your_own_ratings():
    component = component_with()
    theirs = f.UserFactory()
    client_for(theirs).post(URL, {"component": component.pk, "score": 1}, format="json")
    rating = ComponentRating.objects.get()
    mine = client_for(f.UserFactory())
    assert mine.get(URL).json()["results"] == []
    for answer in (mine.get(f"{URL}{rating.pk}/"),
                   mine.patch(f"{URL}{rating.pk}/", {"score": 5}, format="json"),
                   mine.delete(f"{URL}{rating.pk}/")):
        assert answer.status_code == 404
    assert figures(component) == (Decimal("1.00"), 1)


@pytest.mark.parametrize("body", [{"score": 0}, {"score": 6}, {"score": "five"}, {}])
def test_bad_scores_are_400_and_change_nothing(body):
    component = component_with()
    answer = client_for(f.UserFactory()).post(URL, {"component": component.pk, **body},
                                              format="json")
    assert answer.status_code == 400 and "score" in answer.json()["errors"]
    assert figures(component) == (Decimal("0.00"), 0)


def test_unpublished_components_are_not_rated_and_api_keys_do_not_rate():
    draft = MarketplaceComponentFactory(status="draft")
    staff = f.UserFactory(is_staff=True, is_superuser=True)
    answer = client_for(staff).post(URL, {"component": draft.pk, "score": 3}, format="json")
    assert answer.status_code == 400 and "component" in answer.json()["errors"]
    from rest_framework.test import APIClient

    key = APIClient()
    key.credentials(HTTP_AUTHORIZATION=f"Api-Key {f.ApiKeyFactory(role='admin').raw}")
    answer = key.post(URL, {"component": component_with().pk, "score": 3}, format="json")
    assert answer.status_code == 403 and answer.json()["code"] == "user_credentials_required"
