"""Business-intelligence data: the client master, inventory snapshots and sales.

Field names are English; the predecessor's CSV headers map onto them in
``analytics.formats`` (one place).  Dates are calendar dates: the source files
carry dates, reports group by day and month, and a date cannot fall into a
daylight-saving gap.  Inventory and sales rows are written only by the import
pipeline, so they are append-only here.
"""

from django.db import models

from core.models import TimestampedModel
from core.tenancy import WorkspaceScoped


class Client(WorkspaceScoped, TimestampedModel):
    """A customer, keyed by the source systems' client code (the predecessor's `clientes`)."""

    code = models.PositiveIntegerField(help_text="cod_cliente in the source files.")
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ("workspace", "code")
        constraints = [models.UniqueConstraint(fields=["workspace", "code"],
                                               name="analytics_client_unique_code")]

    def __str__(self) -> str:
        return self.name or f"Client {self.code}"


class InventoryRecord(WorkspaceScoped):
    """One inventory line of a snapshot (the predecessor's `estoque`)."""

    append_only = True

    snapshot_date = models.DateField()
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="inventory")
    centre = models.CharField(max_length=50)
    material_type = models.CharField(max_length=100)
    origin = models.CharField(max_length=50)
    product_code = models.CharField(max_length=50)
    batch = models.CharField(max_length=50)
    days_in_stock = models.PositiveIntegerField()
    product = models.CharField(max_length=100)
    product_group = models.CharField(max_length=100)
    stock_tonnes = models.DecimalField(max_digits=14, decimal_places=3,
                                       help_text="Total stock in metric tons.")
    sku = models.CharField(max_length=50)

    class Meta:
        ordering = ("-snapshot_date", "id")
        indexes = [
            models.Index(fields=["workspace", "snapshot_date"], name="analytics_inv_date_idx"),
            models.Index(fields=["workspace", "client"], name="analytics_inv_client_idx"),
            models.Index(fields=["workspace", "sku"], name="analytics_inv_sku_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.stock_tonnes} t on {self.snapshot_date}"


class SaleRecord(WorkspaceScoped):
    """One invoiced shipment (the predecessor's `faturamento`)."""

    append_only = True

    sale_date = models.DateField()
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="sales")
    batch = models.CharField(max_length=50)
    origin = models.CharField(max_length=50)
    product_group = models.CharField(max_length=100)
    product = models.CharField(max_length=100)
    product_code = models.CharField(max_length=50)
    centre = models.CharField(max_length=50)
    city = models.CharField(max_length=100)
    state = models.CharField(max_length=10, help_text="Brazilian state (UF), e.g. PR.")
    net_weight_tonnes = models.DecimalField(max_digits=14, decimal_places=3,
                                            help_text="Net shipped weight in metric tons.")
    sku_client_turnover = models.DecimalField(max_digits=14, decimal_places=4,
                                              help_text="giro_sku_cliente: SKU turnover "
                                                        "for the client.")
    sku = models.CharField(max_length=50)

    class Meta:
        ordering = ("-sale_date", "id")
        indexes = [
            models.Index(fields=["workspace", "sale_date"], name="analytics_sale_date_idx"),
            models.Index(fields=["workspace", "client"], name="analytics_sale_client_idx"),
            models.Index(fields=["workspace", "sku"], name="analytics_sale_sku_idx"),
            models.Index(fields=["workspace", "state"], name="analytics_sale_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.net_weight_tonnes} t on {self.sale_date}"
