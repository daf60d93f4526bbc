"""The API router: resources register here and the sync report reads it back."""

from rest_framework.routers import DefaultRouter


class Router(DefaultRouter):
    """Basenames are ``<app_label>-<model_name>`` so they never collide across apps."""

    include_format_suffixes = False

    def get_default_basename(self, viewset):
        model = viewset.queryset.model
        return f"{model._meta.app_label}-{model._meta.model_name}"


#: The one router for ``/api/v1/``; each app's ``api/urls.py`` registers on it.
router = Router()
