"""URL map: admin, health, and the versioned API with its schema and docs."""

from importlib import import_module
from importlib.util import find_spec

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from accounts.views import two_factor_setup
from core.api.routers import router
from core.health import health

# Each local app with an ``api/urls.py`` registers its resources on the router and
# may add plain views in its own ``urlpatterns``.
app_api_urls = []
for app in settings.LOCAL_APPS:
    if find_spec(f"{app}.api") and find_spec(f"{app}.api.urls"):
        app_api_urls += getattr(import_module(f"{app}.api.urls"), "urlpatterns", [])

_public = {"permission_classes": [AllowAny], "authentication_classes": []}

api_v1 = [
    path("schema/", SpectacularAPIView.as_view(**_public), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema", **_public), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema", **_public), name="redoc"),
    *app_api_urls,
    path("", include(router.urls)),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("account/two-factor/setup/", two_factor_setup, name="two-factor-setup"),
    path("health/", health, name="health"),
    path("api/v1/", include(api_v1)),
]

handler404 = "core.views.not_found"
handler500 = "core.views.server_error"
