from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "workspaces"
    verbose_name = "Workspaces"

    def ready(self) -> None:
        from . import billing_gauges, checks  # noqa: F401  (plan-limit gauges; deployment check)
        from .api import schema  # noqa: F401  (registers the OpenAPI auth scheme)
