"""A URL map for the contacts tests: the project's, plus the contacts API actions and an
admin site whose ContactAdmin has ``ContactAdminMixin`` (as the lead wires them in
crm/api/urls.py and crm/admin/__init__.py), so the doors are tested before the wiring."""

from django.contrib import admin
from django.urls import include, path
from rest_framework.routers import DefaultRouter

from config import urls as project
from core.api.viewsets import ScopedModelViewSet
from crm.admin.contacts import ContactAdminMixin
from crm.api import views
from crm.api.contacts import ContactWritesMixin
from crm.api.contacts import urlpatterns as contact_actions
from crm.models import Contact

site = type(admin.site._wrapped)(name="admin")  # the project's site class (config.urls
# has made the lazy default site real)
for model, model_admin in admin.site._registry.items():
    cls = type(model_admin)
    if model is Contact and not issubclass(cls, ContactAdminMixin):
        cls = type("ContactAdmin", (ContactAdminMixin, cls), {
            "readonly_fields": (*cls.readonly_fields, "timeline_link")})
    site._registry[model] = cls(model, site)


class ContactViewSet(ContactWritesMixin, ScopedModelViewSet):
    queryset = views.ContactViewSet.queryset
    serializer_class = views.ContactViewSet.serializer_class


crud = DefaultRouter()
crud.register("crm/contacts-with-timeline", ContactViewSet, basename="crm-contact-timeline")

urlpatterns = [
    path("api/v1/", include(crud.urls)),
    path("admin/", site.urls),
    path("api/v1/", include(contact_actions)),
    *[p for p in project.urlpatterns if str(p.pattern) != "admin/"],
]
