"""BI data: clients are editable (names); inventory and sales rows come from imports."""

from analytics import models as m
from core.api.viewsets import ScopedModelViewSet, ScopedReadOnlyModelViewSet

from . import serializers as s


class ClientViewSet(ScopedModelViewSet):
    queryset = m.Client.objects.all()
    serializer_class = s.ClientSerializer


class InventoryRecordViewSet(ScopedReadOnlyModelViewSet):
    queryset = m.InventoryRecord.objects.all()
    serializer_class = s.InventoryRecordSerializer


class SaleRecordViewSet(ScopedReadOnlyModelViewSet):
    queryset = m.SaleRecord.objects.all()
    serializer_class = s.SaleRecordSerializer
