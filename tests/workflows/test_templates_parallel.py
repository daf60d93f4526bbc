"""Concurrent reviews keep a template's rating right: reviewers of twelve workspaces rate
one public template at once through the API, each in its own thread and connection
(PostgreSQL: the template row is locked FOR UPDATE and the average recomputed from the
reviews), and one person sending the same review twice at once gets it stored once."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.factories.workflow_templates import NodeTemplateFactory, WorkflowTemplateFactory
from workflows.models import NodeRating, TemplateReview

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
CALLS = 12


def _reviewer():
    workspace, user = WorkspaceFactory(), UserFactory()
    MembershipFactory(workspace=workspace, user=user, role="member")
    client = APIClient()
    client.force_login(user)
    return workspace, client


def _at_once(calls):
    barrier = threading.Barrier(len(calls), timeout=60)

    def run(call):
        try:
            barrier.wait()
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_twelve_parallel_reviews_give_the_exact_count_and_average():
    template = WorkflowTemplateFactory(visibility="public")
    ratings = [(i % 5) + 1 for i in range(CALLS)]
    reviewers = [_reviewer() for _ in range(CALLS)]
    url = reverse("workflows-templatereview-list")

    responses = _at_once([
        (lambda ws=ws, client=client, rating=rating: client.post(
            url, {"workspace": ws.pk, "template": template.pk, "rating": rating},
            format="json"))
        for (ws, client), rating in zip(reviewers, ratings, strict=True)])

    assert [r.status_code for r in responses] == [201] * CALLS
    template.refresh_from_db()
    assert template.rating_count == CALLS
    expected = (Decimal(sum(ratings)) / CALLS).quantize(Decimal("0.01"))
    assert template.rating_average == expected


def test_the_same_review_sent_twice_at_once_is_stored_once():
    template = WorkflowTemplateFactory(visibility="public")
    workspace, client = _reviewer()
    url = reverse("workflows-templatereview-list")
    body = {"workspace": workspace.pk, "template": template.pk, "rating": 5}

    responses = _at_once([lambda: client.post(url, body, format="json")] * 4)

    assert sorted(r.status_code for r in responses) == [201, 400, 400, 400]
    assert TemplateReview.objects.filter(template=template).count() == 1
    template.refresh_from_db()
    assert (template.rating_count, template.rating_average) == (1, Decimal("5.00"))


def test_parallel_node_ratings_keep_the_node_templates_average():
    node_template = NodeTemplateFactory(visibility="public")
    reviewers = [_reviewer() for _ in range(6)]
    url = reverse("workflows-noderating-list")

    responses = _at_once([
        (lambda ws=ws, client=client: client.post(
            url, {"workspace": ws.pk, "node_template": node_template.pk, "rating": 4},
            format="json"))
        for ws, client in reviewers])

    assert [r.status_code for r in responses] == [201] * 6
    node_template.refresh_from_db()
    assert (node_template.rating_count, node_template.rating_average) == (6, Decimal("4.00"))
    assert NodeRating.objects.count() == 6
