"""Back office of billing: the catalogue, subscriptions with their timeline and test
clock, invoices with PDFs, the credits ledger, usage per metric, payments.  Thin over
``billing.services``."""

from . import catalogue, credits, invoices, payments, subscriptions, usage  # noqa: F401
