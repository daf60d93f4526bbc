"""Admin kernel: the site, the base ModelAdmin classes, and the kernel's registrations."""

from . import audit, filters, live  # noqa: F401  (registrations)
