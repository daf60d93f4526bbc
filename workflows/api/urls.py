"""Workflows API routes: resources on the kernel's router, plain views in ``urlpatterns``."""

from django.urls import path

from .webhooks import WebhookView

urlpatterns = [
    path("hooks/workflows/<str:token>/", WebhookView.as_view(), name="workflow-webhook"),
]
