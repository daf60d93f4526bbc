from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self):
        from . import events, signals  # noqa: F401  (signals connects the receivers)

        events.register()  # the domain events it emits (core.events)
        from . import billing_gauges  # noqa: F401  (registers its plan-limit gauges)
