"""The domain events billing emits (core.events), with the schema of each payload.

Money is in integer minor units (cents) of the ISO 4217 ``currency``.
"""

from __future__ import annotations

from core import events

SUBSCRIPTION_CHANGED = "billing.subscription.changed"
INVOICE_FINALIZED = "billing.invoice.finalized"
INVOICE_PAID = "billing.invoice.paid"
PAYMENT_FAILED = "billing.payment.failed"
LIMIT_REACHED = "billing.limit.reached"

_ID = {"type": "integer", "minimum": 1}
_MINOR_UNITS = {"type": "integer", "description": "Minor units (cents) of the currency."}
_CURRENCY = {"type": "string", "pattern": "^[A-Z]{3}$",
             "description": "ISO 4217 code, e.g. USD."}
_STATUS = {"enum": ["trialing", "active", "past_due", "paused", "cancelled", "ended"]}
_PLAN = {"type": "string", "description": "The plan's code, e.g. pro."}

SUBSCRIPTION_SCHEMA = {
    "type": "object",
    "properties": {
        "subscription": {**_ID, "description": "The subscription's id."},
        "plan": _PLAN,
        "status": _STATUS,
        "previous_plan": {**_PLAN, "description": "The plan's code before (the same when "
                                                  "the plan did not change)."},
        "previous_status": {"enum": [*_STATUS["enum"], ""],
                            "description": "The status before; empty for a new "
                                           "subscription."},
        "change": {"enum": ["created", "plan_changed", "cancel_scheduled", "cancelled",
                            "paused", "resumed", "coupon_redeemed", "ended", "activated",
                            "renewed", "past_due", "recovered"],
                   "description": "What happened."},
    },
    "required": ["subscription", "plan", "status", "previous_plan", "previous_status",
                 "change"],
    "additionalProperties": False,
}

FINALIZED_SCHEMA = {
    "type": "object",
    "properties": {
        "invoice": {**_ID, "description": "The invoice's id."},
        "number": {"type": "string", "minLength": 1, "description": "The invoice number."},
        "total": _MINOR_UNITS,
        "amount_due": {**_MINOR_UNITS, "description": "Total less credits applied, in "
                                                      "minor units."},
        "currency": _CURRENCY,
    },
    "required": ["invoice", "number", "total", "amount_due", "currency"],
    "additionalProperties": False,
}

PAID_SCHEMA = {
    "type": "object",
    "properties": {
        "invoice": {**_ID, "description": "The invoice's id."},
        "number": {"type": "string", "description": "The invoice number."},
        "amount_paid": _MINOR_UNITS,
        "currency": _CURRENCY,
    },
    "required": ["invoice", "number", "amount_paid", "currency"],
    "additionalProperties": False,
}

PAYMENT_FAILED_SCHEMA = {
    "type": "object",
    "properties": {
        "invoice": {**_ID, "description": "The invoice's id."},
        "attempt": {**_ID, "description": "How many attempts have failed so far."},
        "error": {"type": "string", "description": "The payment provider's reason."},
        "next_attempt": {"type": ["string", "null"], "format": "date-time",
                         "description": "When it is retried; null: no more retries."},
    },
    "required": ["invoice", "attempt", "error", "next_attempt"],
    "additionalProperties": False,
}

LIMIT_SCHEMA = {
    "type": "object",
    "properties": {
        "feature": {"type": "string", "description": "The feature key, e.g. "
                                                    "executions_per_month."},
        "limit": {"type": ["integer", "null"], "description": "The plan's limit."},
        "used": {"type": "integer", "minimum": 0, "description": "Used so far."},
        "resets_at": {"type": ["string", "null"], "format": "date-time",
                      "description": "End of the billing period for metered limits; null "
                                     "for limits counted now."},
    },
    "required": ["feature", "limit", "used", "resets_at"],
    "additionalProperties": False,
}


def register() -> None:
    events.register(SUBSCRIPTION_CHANGED, version=1, schema=SUBSCRIPTION_SCHEMA,
                    description="A subscription started, changed plan or status.")
    events.register(INVOICE_FINALIZED, version=1, schema=FINALIZED_SCHEMA,
                    description="An invoice got its number and is open for payment.")
    events.register(INVOICE_PAID, version=1, schema=PAID_SCHEMA,
                    description="An invoice was paid.")
    events.register(PAYMENT_FAILED, version=1, schema=PAYMENT_FAILED_SCHEMA,
                    description="A payment attempt failed.")
    events.register(LIMIT_REACHED, version=1, schema=LIMIT_SCHEMA,
                    description="An action was refused by a plan limit.")
