"""The CRM's settings of a workspace (``crm/settings``): one row per workspace, admins
write it.  Naming an agent in ``lead_score_agent`` makes every new rules score be
refined by that agent (``crm.services.lead_agent``); clearing it stops that."""

from __future__ import annotations

from core.api.serializers import BaseModelSerializer
from core.api.viewsets import ScopedModelViewSet

from ..models import CrmSettings


class CrmSettingsSerializer(BaseModelSerializer):
    class Meta:
        model = CrmSettings
        fields = "__all__"
        read_only_fields = ["created_at", "updated_at"]


class CrmSettingsViewSet(ScopedModelViewSet):
    """The workspace's CRM settings: the agent refining lead scores (empty: the rules
    alone) and how many points it may move a score (0-50, default 15)."""

    queryset = CrmSettings.objects.all()
    serializer_class = CrmSettingsSerializer
