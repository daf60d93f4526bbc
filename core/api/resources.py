"""The kernel's own API resources."""

from core.models import AuditEntry

from .serializers import BaseModelSerializer
from .viewsets import ReadOnlyModelViewSet


class AuditEntrySerializer(BaseModelSerializer):
    class Meta:
        model = AuditEntry
        fields = [
            "id", "created_at", "actor", "actor_repr", "ip_address", "request_id", "source",
            "action", "target_type", "target_id", "target_repr", "before", "after",
        ]


class AuditEntryViewSet(ReadOnlyModelViewSet):
    """The audit trail: read-only, newest first."""

    queryset = AuditEntry.objects.all()
    serializer_class = AuditEntrySerializer
