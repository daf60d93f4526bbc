from analytics import models as m
from core.api.serializers import BaseModelSerializer


class ClientSerializer(BaseModelSerializer):
    class Meta:
        model = m.Client
        fields = ["id", "workspace", "code", "name", "created_at", "updated_at"]


class InventoryRecordSerializer(BaseModelSerializer):
    class Meta:
        model = m.InventoryRecord
        fields = ["id", "workspace", "snapshot_date", "client", "centre", "material_type",
                  "origin", "product_code", "batch", "days_in_stock", "product",
                  "product_group", "stock_tonnes", "sku"]


class SaleRecordSerializer(BaseModelSerializer):
    class Meta:
        model = m.SaleRecord
        fields = ["id", "workspace", "sale_date", "client", "batch", "origin", "product_group",
                  "product", "product_code", "centre", "city", "state", "net_weight_tonnes",
                  "sku_client_turnover", "sku"]
