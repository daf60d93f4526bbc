"""Feature flags named like a billing switch follow the workspace's plan."""

import pytest

from core import flags
from tests.factories import (
    FeatureFlagFactory,
    FlagOverrideFactory,
    PlanFactory,
    PlanFeatureFactory,
    SubscriptionFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.django_db


def _on_plan(features, enabled):
    workspace = WorkspaceFactory()
    plan = PlanFactory()
    PlanFeatureFactory(plan=plan, feature=features["voice_calls"], limit=None, enabled=enabled)
    SubscriptionFactory(workspace=workspace, plan=plan)
    return workspace


def test_a_plan_switch_decides_the_flag_of_the_same_name(features):
    FeatureFlagFactory(key="voice_calls", enabled=True, rollout_percent=100)
    with_voice, without = _on_plan(features, True), _on_plan(features, False)
    assert flags.is_active("voice_calls", workspace=with_voice)
    assert not flags.is_active("voice_calls", workspace=without)


def test_an_override_wins_over_the_plan(features):
    flag = FeatureFlagFactory(key="voice_calls", enabled=True, rollout_percent=100)
    workspace = _on_plan(features, False)
    FlagOverrideFactory(flag=flag, workspace=workspace, user=None, enabled=True)
    assert flags.is_active("voice_calls", workspace=workspace)


def test_without_a_plan_the_flag_keeps_its_own_setting(features):
    FeatureFlagFactory(key="voice_calls", enabled=False)
    assert not flags.is_active("voice_calls", workspace=WorkspaceFactory())
    FeatureFlagFactory(key="knowledge_bases", enabled=True, rollout_percent=100)
    assert flags.is_active("knowledge_bases", workspace=WorkspaceFactory())
