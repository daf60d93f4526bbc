"""Back office of analytics: BI datasets and imports (``bi``), product events
(``events``), metrics, dashboards, exports and rollups (``dashboards``)."""

from . import bi, dashboards, events  # noqa: F401  (each registers its models)
