from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "workspaces"
    verbose_name = "Workspaces"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the deployment check)
        from .api import schema  # noqa: F401  (registers the OpenAPI auth scheme)
