"""A URL map for the lead and analytics tests: the project's, plus the lead actions, the
analytics view, the rollups resource and an admin site whose FollowUpAdmin has
``FollowUpAdminMixin`` with the rollups admin (as the lead wires them), so the doors
are tested before the wiring."""

from django.contrib import admin
from django.urls import include, path
from rest_framework.routers import DefaultRouter

import crm.admin.analytics  # noqa: F401  (registers CallDailyMetricAdmin)
from config import urls as project
from crm.admin.leads import FollowUpAdminMixin
from crm.api import analytics, leads
from crm.models import FollowUp

site = type(admin.site._wrapped)(name="admin")
for model, model_admin in admin.site._registry.items():
    cls = type(model_admin)
    if model is FollowUp and not issubclass(cls, FollowUpAdminMixin):
        cls = type("FollowUpAdmin", (FollowUpAdminMixin, cls), {})
    site._registry[model] = cls(model, site)

crud = DefaultRouter()
crud.register("crm/call-metrics", analytics.CallDailyMetricViewSet,
              basename="crm-calldailymetric")

urlpatterns = [
    path("api/v1/", include(crud.urls)),
    path("admin/", site.urls),
    path("api/v1/", include([*leads.urlpatterns, *analytics.urlpatterns])),
    *[p for p in project.urlpatterns if str(p.pattern) != "admin/"],
]
