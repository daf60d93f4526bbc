"""API routes of the webhooks app on the kernel's router."""

urlpatterns = []
