"""Stopping a node attempt that overruns its timeout, in the worker itself.

A timer signal (SIGALRM) interrupts the node's code in the main thread, which is
where Celery's solo and prefork pools run tasks (and where eager tests run).
Elsewhere (a thread pool) no signal can be delivered: the reaper marks the span
``timed_out`` once its ``deadline_at`` has passed, and its late result is ignored.
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager


class AttemptTimedOut(BaseException):
    """Raised in the node's code at its deadline.  A BaseException, so that a node's
    ``except Exception`` cannot swallow it."""


def _can_signal() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def time_limit(seconds: float | None):
    if not seconds or not _can_signal():
        yield
        return

    def expire(signum, frame):
        raise AttemptTimedOut(f"The attempt ran longer than its timeout ({seconds:g} s).")

    # An enclosing limit (an eager sub-workflow runs inside its caller's node) is
    # suspended meanwhile and given back what is left of it afterwards.
    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
    began = time.monotonic()
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, min(seconds, outer_left) if outer_left else seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_left:
            signal.setitimer(signal.ITIMER_REAL,
                             max(0.001, outer_left - (time.monotonic() - began)))
