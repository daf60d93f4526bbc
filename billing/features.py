"""The features plans can grant, declared once in code.

Enforcement code must know every limit it enforces, so the catalogue lives here and the
``Feature`` table mirrors it after each ``migrate`` (like the workflow node types).
Plans attach values to these keys (``PlanFeature``); staff override them per workspace
(``Entitlement``).

* ``limit`` features cap a quantity.  ``metered`` ones are sums of usage records within
  the billing period (executions, tokens); ``gauge`` ones are counted live from the app
  that owns them (agents, seats, stored bytes, schedules), each app registering its
  counter with ``billing.entitlements.register_gauge``.
* ``switch`` features are on or off (the workspace's ``WorkspaceFeature`` rows follow
  them).
"""

from __future__ import annotations

from dataclasses import dataclass

LIMIT, SWITCH = "limit", "switch"
METERED, GAUGE = "metered", "gauge"


@dataclass(frozen=True)
class FeatureSpec:
    key: str
    name: str
    kind: str
    unit: str = ""
    measure: str = ""  # METERED or GAUGE for limits
    description: str = ""


FEATURES: dict[str, FeatureSpec] = {f.key: f for f in (
    FeatureSpec("executions_per_month", "Workflow executions per month", LIMIT, "executions",
                METERED, "Executions started in the billing period, by any trigger."),
    FeatureSpec("tokens_per_month", "LLM tokens per month", LIMIT, "tokens", METERED,
                "Input and output tokens of every model call in the billing period."),
    FeatureSpec("agents", "Agents", LIMIT, "agents", GAUGE,
                "Agents in the workspace (archived ones excluded)."),
    FeatureSpec("seats", "Seats", LIMIT, "members", GAUGE,
                "Members of the workspace plus pending invitations."),
    FeatureSpec("storage_bytes", "File storage", LIMIT, "bytes", GAUGE,
                "Bytes of the workspace's stored files and knowledge documents."),
    FeatureSpec("schedules", "Schedules", LIMIT, "schedules", GAUGE,
                "Report schedules and scheduled workflow triggers."),
    FeatureSpec("knowledge_bases", "Knowledge bases", SWITCH,
                description="Agents may search uploaded documents."),
    FeatureSpec("voice_calls", "Voice calls", SWITCH,
                description="Voice agents place and receive phone calls."),
)}

#: The usage metric a metered feature counts (usage records carry these names).
METRIC_OF = {"executions_per_month": "executions", "tokens_per_month": "tokens"}
