"""API routes of the marketplace app on the kernel's router: each module registers its
resources when imported."""

from . import catalogue, usage

urlpatterns = [*catalogue.urlpatterns, *usage.urlpatterns]
