from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows"

    def ready(self):
        # Triggers (H4): register this app's events, subscribe event triggers, clean up
        # beat entries, and register the schedule task with every worker.
        from . import events, trigger_tasks  # noqa: F401
        from .services import triggers

        events.register()
        triggers.connect()
