"""The project's URLs plus the campaign actions (until crm/api/urls.py lists them)."""

from django.urls import include, path

from config import urls as project
from crm.api.campaigns import urlpatterns as campaign_actions

urlpatterns = [path("api/v1/", include(campaign_actions)), *project.urlpatterns]
