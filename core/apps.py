from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CoreConfig(AppConfig):
    default = True
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from . import audit

        audit.connect_signals()


class SynapscaleAdminConfig(admin_apps.AdminConfig):
    """Swaps the default admin site so ``@admin.register`` lands on ours."""

    default = False
    default_site = "core.admin_site.AdminSite"
