"""API of product events: capture (single and batch) and the read-only event list."""

urlpatterns = []
