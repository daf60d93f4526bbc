"""API routes of the webhooks app on the kernel's router."""

from core.api.routers import router

from . import views as v

router.register("webhooks/endpoints", v.WebhookEndpointViewSet)
router.register("webhooks/messages", v.WebhookMessageViewSet)
router.register("webhooks/deliveries", v.WebhookDeliveryViewSet)
router.register("webhooks/attempts", v.WebhookAttemptViewSet)

urlpatterns = []
