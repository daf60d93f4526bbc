"""Plan-driven feature flags: a flag named like a billing switch (``voice_calls``,
``knowledge_bases``) follows the workspace's plan, after per-user and per-workspace
overrides and before the flag's own rollout (``core.flags``).  A workspace without a plan
gets no opinion from billing, so the flag's own setting decides."""

from __future__ import annotations

from .entitlements import UNLIMITED, values
from .features import FEATURES, SWITCH


def plan_source(key: str, *, workspace=None, user=None) -> bool | None:
    spec = FEATURES.get(key)
    if spec is None or spec.kind != SWITCH or workspace is None:
        return None
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    value = values(workspace_id).get(key)
    if value is None or value.source == UNLIMITED:
        return None
    return value.enabled
