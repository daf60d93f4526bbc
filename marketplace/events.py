"""The domain events the marketplace emits (core.events), with each payload's schema.

Registered in ``MarketplaceConfig.ready()``; emitted by ``marketplace.services`` after
the change commits.  Money is in integer minor units of the ISO 4217 ``currency``.
"""

from __future__ import annotations

from core import events

PURCHASED = "marketplace.component.purchased"
INSTALLED = "marketplace.component.installed"
UPGRADED = "marketplace.component.upgraded"

_ID = {"type": "integer", "minimum": 1}
_VERSION = {"type": "string", "description": "Semantic version, e.g. 1.4.0."}
_COMPONENT = {"component": {**_ID, "description": "The component's id."},
              "slug": {"type": "string", "description": "The component's slug."}}

PURCHASED_SCHEMA = {
    "type": "object",
    "properties": {
        **_COMPONENT,
        "purchase": {**_ID, "description": "The purchase's id."},
        "price": {"type": "integer", "minimum": 0,
                  "description": "Minor units (cents) paid."},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "method": {"enum": ["credits", "invoice"]},
        "credits": {"type": "string", "description": "Credits taken (method credits; "
                                                     "a decimal as text)."},
    },
    "required": ["component", "slug", "purchase", "price", "currency", "method"],
}

INSTALLED_SCHEMA = {
    "type": "object",
    "properties": {
        **_COMPONENT,
        "installation": {**_ID, "description": "The installation's id."},
        "version": _VERSION,
        "workflow": {**_ID, "description": "The draft workflow created."},
    },
    "required": ["component", "slug", "installation", "version", "workflow"],
}

UPGRADED_SCHEMA = {
    "type": "object",
    "properties": {
        **_COMPONENT,
        "installation": {**_ID, "description": "The installation's id."},
        "version": _VERSION,
        "from_version": _VERSION,
        "workflow": {**_ID, "description": "The workflow whose draft graph was replaced."},
    },
    "required": ["component", "slug", "installation", "version", "from_version", "workflow"],
}


def register() -> None:
    events.register(PURCHASED, version=1, schema=PURCHASED_SCHEMA,
                    description="A workspace bought a paid marketplace component (by "
                                "credits or on its next invoice).")
    events.register(INSTALLED, version=1, schema=INSTALLED_SCHEMA,
                    description="A marketplace component was installed in a workspace as "
                                "a new draft workflow.")
    events.register(UPGRADED, version=1, schema=UPGRADED_SCHEMA,
                    description="An installed component was upgraded: its workflow's "
                                "draft graph now is the newer version's.")
