"""Workflows API routes: resources on the kernel's router, plain views in ``urlpatterns``.

The parts register before ``workflows`` itself so ``workflows/nodes/`` is never read as
a workflow id (workflow ids are digits only anyway).
"""

from django.urls import path

from core.api.routers import router

from . import templates as t
from . import views as v
from .webhooks import WebhookView

router.register("workflows/nodes", v.NodeViewSet)
router.register("workflows/connections", v.ConnectionViewSet)
router.register("workflows/triggers", v.TriggerViewSet)
router.register("workflows/shares", v.WorkflowShareViewSet)
router.register("workflows/versions", v.WorkflowVersionViewSet)
router.register("workflows/deployments", v.DeploymentViewSet)
router.register("workflows/executions", v.ExecutionViewSet)
router.register("workflows/spans", v.NodeExecutionViewSet)
router.register("workflows/metrics", v.ExecutionMetricViewSet)
router.register("workflows/node-categories", v.NodeCategoryViewSet)
router.register("workflows/node-types", v.NodeTypeViewSet)
router.register("workflows/templates", t.WorkflowTemplateViewSet)
router.register("workflows/template-collections", t.TemplateCollectionViewSet)
router.register("workflows/template-favorites", t.TemplateFavoriteViewSet)
router.register("workflows/template-reviews", t.TemplateReviewViewSet)
router.register("workflows/template-installations", t.TemplateInstallationViewSet)
router.register("workflows/node-templates", t.NodeTemplateViewSet)
router.register("workflows/node-ratings", t.NodeRatingViewSet)
router.register("workflows", v.WorkflowViewSet)

urlpatterns = [
    path("hooks/workflows/<str:token>/", WebhookView.as_view(), name="workflow-webhook"),
    path("workflows/template-gallery/", t.TemplateGalleryList.as_view(),
         name="workflows-template-gallery-list"),
    path("workflows/template-gallery/<int:pk>/", t.TemplateGalleryDetail.as_view(),
         name="workflows-template-gallery-detail"),
    path("workflows/node-template-gallery/", t.NodeTemplateGalleryList.as_view(),
         name="workflows-node-template-gallery-list"),
    path("workflows/node-template-gallery/<int:pk>/", t.NodeTemplateGalleryDetail.as_view(),
         name="workflows-node-template-gallery-detail"),
]
