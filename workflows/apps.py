from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows"

    def ready(self):
        # Triggers (H4): register this app's events, subscribe event triggers, clean up
        # beat entries, and register the schedule task with every worker.
        from . import billing_gauges, events, trigger_tasks  # noqa: F401  (+ plan-limit gauges)
        from .services import templates, triggers

        events.register()
        templates.register_events()  # workflows.template.installed
        triggers.connect()

        # Definitions (H3): the node catalogue tables mirror the code registry after migrate.
        from django.db.models.signals import post_migrate

        from .services.catalogue import sync_after_migrate

        post_migrate.connect(sync_after_migrate, dispatch_uid="workflows.catalogue_sync")
