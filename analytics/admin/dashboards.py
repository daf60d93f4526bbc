"""Back office of metrics, dashboards (charts), exports and rollups."""
