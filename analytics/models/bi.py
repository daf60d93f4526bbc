"""Business-intelligence data: the client master, inventory snapshots and sales.

Field names are English; the predecessor's CSV headers map onto them in
``analytics.formats`` (one place).  Reports group by a local calendar date
(``snapshot_date``, ``sale_date``), which cannot fall into a daylight-saving
gap; when the source gave a time of day too, the row keeps it beside the date
(``source_timestamp``), so nothing in the file is lost.  Inventory and sales
rows are written only by the import pipeline, so they are append-only here.
"""

from datetime import datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from django.conf import settings
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


def _import_upload_to(instance, filename: str) -> str:
    return f"imports/{instance.workspace_id}/{instance.dataset}/{filename}"


class ImportJob(WorkspaceScoped, TimestampedModel):
    """One uploaded BI file and its trip through the import pipeline."""

    # Created by upload, advanced by the pipeline; never edited or deleted by hand
    # (its rows point at it, and it is the record of what was loaded).
    api_operations = ("list", "retrieve", "create")

    class Dataset(models.TextChoices):
        INVENTORY = "inventory", "Inventory (estoque)"
        SALES = "sales", "Sales (faturamento)"
        CONTACTS = "contacts", "Contacts (CRM)"

    class Mode(models.TextChoices):
        APPEND = "append", "Append"
        REPLACE = "replace", "Replace a previous import"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        DUPLICATE = "duplicate", "Duplicate (already imported)"
        REPLACED = "replaced", "Replaced by a later import"

    ACTIVE = (Status.PENDING, Status.RUNNING, Status.SUCCEEDED)

    dataset = models.CharField(max_length=16, choices=Dataset.choices)
    file = models.FileField(upload_to=_import_upload_to, max_length=500)
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(default=0, help_text="Bytes.")
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the file.")
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.APPEND)
    replaces = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="replaced_by",
                                 help_text="The import whose rows this one swaps out.")
    skip_invalid = models.BooleanField(
        default=False, help_text="Load the valid rows and report the bad ones, instead of "
                                 "loading nothing when any row is bad.")
    delimiter = models.CharField(max_length=1, blank=True,
                                 help_text="Blank: detected from the header line.")
    encoding = models.CharField(max_length=32, blank=True,
                                help_text="Blank: detected (UTF-8, else Windows-1252).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING,
                              db_index=True)
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+",
                                     help_text="The earlier import of the same file.")
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    rows_total = models.PositiveIntegerField(default=0)
    rows_imported = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    clients_created = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors_preview = models.JSONField(default=list, blank=True,
                                      help_text="The first errors; the full list is the report.")
    error_report = models.FileField(upload_to=_import_upload_to, max_length=500, blank=True)
    message = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True,
                                        help_text="Last sign of life from the worker.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    options = models.JSONField(default=dict, blank=True,
                               help_text="Format options (contacts: region, on_duplicate).")
    source_time_zone = models.CharField(
        max_length=64, blank=True,
        help_text="The zone the file's times of day were read in (the workspace's source "
                  "zone when the import ran); its rows' source_timestamp is shown in it.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            # Same file, same dataset, loaded (or on its way) once per workspace.
            models.UniqueConstraint(
                fields=["workspace", "dataset", "checksum"],
                condition=models.Q(status__in=["pending", "running", "succeeded"]),
                name="analytics_importjob_once_per_file"),
        ]

    def __str__(self) -> str:
        return f"{self.get_dataset_display()} import #{self.pk} ({self.original_name})"

    @property
    def error_report_name(self) -> str:
        """The report's file name: after the uploaded file, not the storage path."""
        stem = self.original_name.rsplit(".", 1)[0].strip()[:100] or f"import-{self.pk}"
        return f"{stem}-errors.csv"

    @property
    def is_finished(self) -> bool:
        return self.status not in (self.Status.PENDING, self.Status.RUNNING)


class ImportedRecord(WorkspaceScoped):
    """What every row loaded from a BI file carries: its workspace, its import, its moment.

    ``date_field`` names the local calendar date the reports group by.
    ``source_timestamp`` is the file's ``data`` value when it had a time of day,
    as an instant read in the source zone (``ImportJob.source_time_zone``); it
    is null when the file gave a date only, and the date is then exactly the
    file's value.
    """

    append_only = True
    date_field: ClassVar[str]

    # Only the pipeline writes these rows, with one workspace and one job per
    # load, so a database constraint on either would re-check the same parent
    # a million times per import; Django still cascades and protects.  Neither
    # has an index of its own: the (workspace, date) index serves workspace
    # lookups, and replacing an import scans once.
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE,
                                  related_name="+", db_index=False, db_constraint=False)
    import_job = models.ForeignKey(ImportJob, null=True, blank=True, on_delete=models.PROTECT,
                                   db_index=False, db_constraint=False)
    source_timestamp = models.DateTimeField(
        null=True, blank=True,
        help_text="The source's date and time (the predecessor's data TIMESTAMP), read in "
                  "the import's source time zone; null when the file gave a date only.")

    class Meta:
        abstract = True

    @property
    def source_local(self) -> datetime | None:
        """``source_timestamp`` on the clock of the zone it was read in: the file's value."""
        if self.source_timestamp is None:
            return None
        zone = (self.import_job.source_time_zone if self.import_job_id else "") \
            or settings.BI_SOURCE_TIME_ZONE
        return self.source_timestamp.astimezone(ZoneInfo(zone))


class InventoryRecord(ImportedRecord):
    """One inventory line of a snapshot (the predecessor's `estoque`)."""

    date_field = "snapshot_date"

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
        # A client belongs to one workspace, so the client FK's own index serves
        # per-client queries.
        indexes = [
            models.Index(fields=["workspace", "snapshot_date"], name="analytics_inv_date_idx"),
            models.Index(fields=["workspace", "sku"], name="analytics_inv_sku_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.stock_tonnes} t on {self.snapshot_date}"


class SaleRecord(ImportedRecord):
    """One invoiced shipment (the predecessor's `faturamento`)."""

    date_field = "sale_date"

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
        indexes = [  # see InventoryRecord
            models.Index(fields=["workspace", "sale_date"], name="analytics_sale_date_idx"),
            models.Index(fields=["workspace", "sku"], name="analytics_sale_sku_idx"),
            models.Index(fields=["workspace", "state"], name="analytics_sale_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.net_weight_tonnes} t on {self.sale_date}"
