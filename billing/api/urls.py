"""Billing API routes: each module registers its resources on the kernel's router when
imported and lists its plain views in ``urlpatterns``."""

from . import catalogue, credits, entitlements, invoices, payments, subscriptions, usage

urlpatterns = [*catalogue.urlpatterns, *entitlements.urlpatterns, *subscriptions.urlpatterns,
               *invoices.urlpatterns, *usage.urlpatterns, *credits.urlpatterns,
               *payments.urlpatterns]
