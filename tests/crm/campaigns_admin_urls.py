"""A URL map for the campaign admin tests: the project's, with an admin site whose
CampaignAdmin has ``CampaignAdminMixin`` (as the lead wires it in crm/admin/__init__.py),
so the pages are tested before the wiring."""

from django.contrib import admin
from django.urls import path

from config import urls as project
from crm.admin.campaigns import CampaignAdminMixin
from crm.models import Campaign

site = type(admin.site._wrapped)(name="admin")
for model, model_admin in admin.site._registry.items():
    cls = type(model_admin)
    if model is Campaign and not issubclass(cls, CampaignAdminMixin):
        cls = type("CampaignAdmin", (CampaignAdminMixin, cls), {
            "readonly_fields": (*cls.readonly_fields, "progress_link")})
    site._registry[model] = cls(model, site)

urlpatterns = [path("admin/", site.urls),
               *[p for p in project.urlpatterns if str(p.pattern) != "admin/"]]
