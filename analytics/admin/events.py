"""Back office of product events (analytics.Event): capture log, partitions."""
