"""API of metrics, dashboards (with their data), exports and rollups."""

urlpatterns = []
