"""Benchmarks run by ``make bench`` (``python -m benchmarks``).

Two questions, each answered as a ratio so the figure means the same on any machine:

* ``api_list``: how much a whole API request for 100 audit entries costs over
  the bare minimum (one psycopg query plus ``orjson.dumps``), target at most 5x;
* ``admin_changelist``: whether the admin changelist costs the same on a
  1,000,000-row table as on a 1,000-row one, target at most 1.5x.

Figures are medians of repeated runs after a warm-up.  Missed targets are
printed, never asserted: the process exits 0 either way.
"""
