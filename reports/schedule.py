"""Cron schedules of report definitions: moved to the kernel (``core.cron``).

Kept so that ``reports.schedule.validate_cron`` (named by migrations) and the
existing imports go on working.
"""

from core.cron import (  # noqa: F401
    FIELDS,
    SEARCH_DAYS,
    Cron,
    next_fire,
    parse,
    previous_fire,
    validate_cron,
)
