from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self):
        from . import domain_events, events, partitions  # noqa: F401  (partitions declares
        # the live setting analytics.event_retention_days)

        events.register()  # the domain events it emits (core.events)
        domain_events.connect()  # every domain event is also a product event
