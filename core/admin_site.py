"""The back office's admin site (installed as the default through AdminConfig)."""

from django.contrib import admin


class AdminSite(admin.AdminSite):
    site_header = "Synapscale back office"
    site_title = "Synapscale"
    index_title = "Administration"
