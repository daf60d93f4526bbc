"""Back-office views of BI data: clients editable, inventory and sales read-only."""

from django.contrib import admin

from analytics import models as m
from core.admin.base import BaseModelAdmin, ReadOnlyModelAdmin


@admin.register(m.Client)
class ClientAdmin(BaseModelAdmin):
    list_display = ("code", "name", "workspace")
    search_fields = ("name", "=code")


@admin.register(m.InventoryRecord)
class InventoryRecordAdmin(ReadOnlyModelAdmin):
    list_display = ("snapshot_date", "client", "sku", "product", "centre", "days_in_stock",
                    "stock_tonnes")
    # Date and client filters only: their choices never need a scan of the table.
    list_filter = ("snapshot_date", "client")
    search_fields = ("sku", "batch", "product_code")


@admin.register(m.SaleRecord)
class SaleRecordAdmin(ReadOnlyModelAdmin):
    list_display = ("sale_date", "client", "sku", "product", "city", "state",
                    "net_weight_tonnes")
    list_filter = ("sale_date", "client")
    search_fields = ("sku", "batch", "city")
