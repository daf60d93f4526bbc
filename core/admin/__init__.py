"""Admin kernel: the site, the base ModelAdmin classes, and the kernel's registrations."""

from . import audit, filters  # noqa: F401  (registrations)
