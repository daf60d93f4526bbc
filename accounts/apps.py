from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the OTP middleware check)
        from .api import schema  # noqa: F401  (registers the OpenAPI auth scheme)
