"""Merges under concurrency (PostgreSQL): A into B and B into A at the same moment, each
in its own thread and connection, end with exactly one merge and every row on the one
kept; both rows are locked in id order, so neither deadlocks nor merges twice."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from core.api.errors import ApiError
from crm import models as m
from crm.services import contacts as services
from tests.factories import ContactFactory, ContactNoteFactory, WorkspaceFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROUNDS = 5


def test_crossed_merges_at_once_leave_one_merge_and_every_row():
    workspace = WorkspaceFactory()
    for _ in range(ROUNDS):
        a, b = ContactFactory(workspace=workspace), ContactFactory(workspace=workspace)
        ContactNoteFactory(workspace=workspace, contact=a)
        ContactNoteFactory(workspace=workspace, contact=b)
        barrier = threading.Barrier(2, timeout=30)

        def merge(pair, barrier=barrier):
            keep, other = pair
            try:
                barrier.wait()
                services.merge(keep=keep, other=other)
                return "merged"
            except ApiError as exc:
                return exc.error_code
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = sorted(pool.map(merge, [(a, b), (b, a)]))
        assert outcomes == ["already_merged", "merged"]
        a.refresh_from_db()
        b.refresh_from_db()
        kept = a if b.merged_into_id else b
        assert {a.merged_into_id, b.merged_into_id} == {None, kept.pk}
        assert m.ContactNote.objects.filter(contact=kept).count() == 2
