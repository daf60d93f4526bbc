"""Feature flags: sticky percentage rollout per workspace, overrides win, sources for
plan-driven features, one function for services, templates and the API."""

import pytest
from django.template import Context, Template
from django.urls import reverse

from core import flags
from core.models import AuditEntry
from tests.factories import (
    FeatureFlagFactory,
    FlagOverrideFactory,
    UserFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.django_db


def test_a_30_percent_rollout_is_on_for_about_30_percent_of_workspaces_and_sticks():
    FeatureFlagFactory(key="new-editor", enabled=True, rollout_percent=30)
    ids = range(1, 1001)  # workspace ids: the answer needs no row
    first = {i: flags.is_active("new-editor", workspace=i) for i in ids}
    share = sum(first.values()) / len(first)
    assert 0.25 <= share <= 0.35, share
    assert all(flags.is_active("new-editor", workspace=i) == first[i] for i in ids)
    # Raising the rollout only adds workspaces.
    FeatureFlagFactory._meta.model.objects.filter(key="new-editor").update(rollout_percent=60)
    flags.invalidate()
    assert all(flags.is_active("new-editor", workspace=i) for i in ids if first[i])


def test_off_unknown_and_full_flags():
    FeatureFlagFactory(key="off", enabled=False, rollout_percent=100)
    FeatureFlagFactory(key="all", enabled=True, rollout_percent=100)
    workspace = WorkspaceFactory()
    assert not flags.is_active("off", workspace=workspace)
    assert not flags.is_active("no-such-flag", workspace=workspace)
    assert flags.is_active("all", workspace=workspace) and flags.is_active("all")


def test_overrides_win_user_first_then_workspace():
    flag = FeatureFlagFactory(key="beta", enabled=False)
    workspace, user = WorkspaceFactory(), UserFactory()
    FlagOverrideFactory(flag=flag, workspace=workspace, user=None, enabled=True)
    assert flags.is_active("beta", workspace=workspace)
    assert flags.is_active("beta", workspace=workspace, user=user)
    FlagOverrideFactory(flag=flag, user=user, enabled=False)
    assert not flags.is_active("beta", workspace=workspace, user=user)
    assert flags.is_active("beta", workspace=workspace, user=UserFactory())


def test_an_override_against_a_full_rollout_switches_one_workspace_off():
    flag = FeatureFlagFactory(key="all", enabled=True, rollout_percent=100)
    workspace = WorkspaceFactory()
    assert flags.is_active("all", workspace=workspace)  # cached now
    FlagOverrideFactory(flag=flag, workspace=workspace, user=None, enabled=False)
    assert not flags.is_active("all", workspace=workspace), "the change invalidated the cache"
    assert flags.is_active("all", workspace=WorkspaceFactory())


def test_a_registered_source_answers_after_overrides_and_before_the_rollout():
    flag = FeatureFlagFactory(key="reports-pro", enabled=False)
    paying, other = WorkspaceFactory(), WorkspaceFactory()

    def plan_features(key, *, workspace, user):
        return True if getattr(workspace, "pk", None) == paying.pk else None

    flags.register_source(plan_features)
    try:
        assert flags.is_active("reports-pro", workspace=paying)
        assert not flags.is_active("reports-pro", workspace=other)
        FlagOverrideFactory(flag=flag, workspace=paying, user=None, enabled=False)
        assert not flags.is_active("reports-pro", workspace=paying)
    finally:
        flags.unregister_source(plan_features)


def test_templates_ask_the_same_question(rf):
    flag = FeatureFlagFactory(key="new-nav", enabled=False)
    user = UserFactory()
    FlagOverrideFactory(flag=flag, user=user, enabled=True)
    request = rf.get("/")
    template = Template('{% load flags %}{% flag_active "new-nav" as on %}{{ on }}|'
                        '{{ "new-nav"|flag_on }}')
    request.user = user
    assert template.render(Context({"request": request})) == "True|False"


def test_me_lists_the_callers_active_flags(user_client, user):
    FeatureFlagFactory(key="everyone", enabled=True)
    FeatureFlagFactory(key="nobody", enabled=False)
    FlagOverrideFactory(flag=FeatureFlagFactory(key="just-me", enabled=False), user=user)
    body = user_client.get(reverse("auth-me")).json()
    assert body["active_flags"] == ["everyone", "just-me"]


def test_flag_changes_through_the_api_are_audited(staff_client, superuser):
    response = staff_client.post(reverse("core-featureflag-list"),
                                 {"key": "dark-mode", "enabled": True, "rollout_percent": 10},
                                 format="json")
    assert response.status_code == 201, response.content
    assert staff_client.patch(reverse("core-featureflag-detail", args=[response.json()["id"]]),
                              {"rollout_percent": 50}, format="json").status_code == 200
    entries = AuditEntry.objects.filter(target_repr="dark-mode").order_by("id")
    assert [(e.action, e.actor) for e in entries] == [("create", superuser),
                                                      ("update", superuser)]
    assert entries[1].after["rollout_percent"] == 50


def test_an_override_names_exactly_one_target(staff_client):
    flag = FeatureFlagFactory()
    url = reverse("core-flagoverride-list")
    both = staff_client.post(url, {"flag": flag.pk, "workspace": WorkspaceFactory().pk,
                                   "user": UserFactory().pk, "enabled": True}, format="json")
    neither = staff_client.post(url, {"flag": flag.pk, "enabled": True}, format="json")
    assert both.status_code == neither.status_code == 400
    assert "exactly one" in str(both.json()["errors"])
