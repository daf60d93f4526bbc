from django.apps import AppConfig


class CrmConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "crm"
    verbose_name = "CRM and voice calls"

    def ready(self):
        from . import events, lead_events
        from .services import campaigns

        events.register()
        # Campaign entries follow their calls' ends; calls feed scores and follow-ups.
        campaigns.register()
        lead_events.connect()
