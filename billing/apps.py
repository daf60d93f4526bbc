from django.apps import AppConfig


class BillingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "billing"
    verbose_name = "Billing"

    def ready(self):
        from django.db.models.signals import post_migrate

        from core import flags

        from . import events
        from .flags import plan_source
        from .services.catalogue import sync_after_migrate

        events.register()
        flags.register_source(plan_source)
        post_migrate.connect(sync_after_migrate, dispatch_uid="billing.features_sync")
