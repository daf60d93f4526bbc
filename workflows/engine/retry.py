"""Retry maths: how long to wait before the next attempt of a failed node.

The policy (``workflows.policies.retry_policy``) says: ``max_attempts`` in all,
a first delay of ``backoff`` seconds doubling per attempt, randomised by up to
``jitter`` of itself (so a burst of failures does not retry in lock-step), never
longer than ``max_delay``.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from ..policies import retry_policy


def effective_policy(workflow_policy: dict | None, node_policy: dict | None) -> dict:
    """Defaults, overridden by the workflow's policy, overridden by the node's."""
    return retry_policy(workflow_policy, node_policy)


def retry_delay(policy: dict, failed_attempt: int,
                rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after attempt ``failed_attempt`` (1-based) failed."""
    base = float(policy["backoff"]) * (2 ** (failed_attempt - 1))
    jitter = float(policy["jitter"])
    delay = base * (1 + jitter * (2 * rand() - 1))  # uniform in base ± jitter·base
    return max(0.0, min(delay, float(policy["max_delay"])))


def delay_bounds(policy: dict, failed_attempt: int) -> tuple[float, float]:
    """The smallest and largest delay ``retry_delay`` may give (for checks and docs)."""
    base = float(policy["backoff"]) * (2 ** (failed_attempt - 1))
    jitter, cap = float(policy["jitter"]), float(policy["max_delay"])
    return min(base * (1 - jitter), cap), min(base * (1 + jitter), cap)


def may_retry(policy: dict, attempt: int) -> bool:
    return attempt < int(policy["max_attempts"])
