"""Admin of the CRM's per-workspace settings (the agent refining lead scores)."""

from django.contrib import admin

from core.admin.base import BaseModelAdmin

from ..models import CrmSettings


@admin.register(CrmSettings)
class CrmSettingsAdmin(BaseModelAdmin):
    list_display = ("workspace", "lead_score_agent", "lead_score_max_adjustment",
                    "updated_at")
