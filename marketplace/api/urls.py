"""API routes of the marketplace app on the kernel's router."""

urlpatterns = []
