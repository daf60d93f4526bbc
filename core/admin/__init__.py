"""Admin kernel: the site, the base ModelAdmin classes, and the kernel's registrations."""

from . import audit  # noqa: F401  (registers AuditEntry)
