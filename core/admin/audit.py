from django.contrib import admin

from core.models import AuditEntry

from .base import ReadOnlyModelAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyModelAdmin):
    list_display = ("created_at", "actor", "source", "action", "target_type", "target_repr",
                    "ip_address", "request_id")
    list_filter = ("action", "source")
    search_fields = ("target_repr", "target_id", "request_id", "actor_repr")
