"""``workspaces.queries``: the one meaning of "member", "role" and "owner" other apps read."""

import pytest

from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from workspaces import queries

pytestmark = pytest.mark.django_db


def test_membership_reads_take_objects_or_ids():
    ws, other = WorkspaceFactory(), WorkspaceFactory()
    owner = MembershipFactory(workspace=ws, role="owner").user
    viewer = MembershipFactory(workspace=ws, role="viewer").user
    stranger = MembershipFactory(workspace=other).user

    assert queries.is_member(viewer, ws) and queries.is_member(viewer.pk, ws.pk)
    assert not queries.is_member(stranger, ws) and not queries.is_member(None, ws)
    assert queries.member_role(owner, ws) == "owner"
    assert queries.member_role(viewer.pk, ws.pk) == "viewer"
    assert queries.member_role(stranger, ws) is None
    assert queries.workspace_owner(ws) == owner and queries.workspace_owner(ws.pk) == owner
    assert queries.membership_of(viewer, ws).role == "viewer"
    assert queries.membership_of(stranger, ws) is None


def test_active_member_users_leaves_out_inactive_accounts_and_outsiders():
    ws = WorkspaceFactory()
    b = MembershipFactory(workspace=ws, user=UserFactory(email="b@example.com")).user
    a = MembershipFactory(workspace=ws, user=UserFactory(email="a@example.com")).user
    gone = MembershipFactory(workspace=ws, user=UserFactory(is_active=False)).user
    MembershipFactory(workspace=WorkspaceFactory())
    assert list(queries.active_member_users(ws)) == [a, b]
    assert {row["user_id"] for row in queries.member_user_ids(ws)} == {a.pk, b.pk, gone.pk}
