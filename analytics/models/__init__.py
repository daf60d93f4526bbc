"""Analytics: business-intelligence datasets and their imports (``bi``), product events
(``events``), metrics, dashboards and exports (``dashboards``) and the rollups computed
from events (``rollups``)."""

from .bi import (  # noqa: F401  (_import_upload_to: migrations name it here)
    Client,
    ImportedRecord,
    ImportJob,
    InventoryRecord,
    SaleRecord,
    _import_upload_to,
)
from .dashboards import Dashboard, DashboardWidget, Export, Metric
from .events import Event
from .rollups import BusinessMetric, UserBehaviorMetric, UserInsight

__all__ = ["BusinessMetric", "Client", "Dashboard", "DashboardWidget", "Event", "Export",
           "ImportJob", "ImportedRecord", "InventoryRecord", "Metric", "SaleRecord",
           "UserBehaviorMetric", "UserInsight"]
