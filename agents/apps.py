from django.apps import AppConfig


class AgentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "agents"
    verbose_name = "Agents and LLMs"

    def ready(self):
        from . import events
        from .services import triggers

        events.register()
        # Event triggers, beat entries of deleted triggers, and schedule tick stamps.
        triggers.connect()
        from . import billing_gauges  # noqa: F401  (registers its plan-limit gauges)
