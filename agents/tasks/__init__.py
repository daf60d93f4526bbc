"""Celery tasks of agents, one module per subdomain; imported here so workers find them."""

from . import budgets, knowledge, rollups, triggers  # noqa: F401
