"""What one generation run (the beat over thousands of subscriptions) reads once rather
than per invoice: the plans' metered features, the default issuer.

``with run_cache.using():`` around the run; outside one, nothing is remembered (a
single generation always reads fresh rows).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

_current: ContextVar[dict | None] = ContextVar("billing_invoicing_run_cache", default=None)


def current() -> dict | None:
    return _current.get()


@contextmanager
def using():
    token = _current.set({})
    try:
        yield
    finally:
        _current.reset(token)
