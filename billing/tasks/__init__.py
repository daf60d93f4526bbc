"""Celery tasks of billing, one module per subdomain; imported here so workers find them."""

from . import credits, dunning, invoices, periods  # noqa: F401
