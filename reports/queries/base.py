"""The filtered starting points every report query shares.

A report reads one workspace's BI rows, narrowed by the run's parameters; the
filters live here once so the six report kinds cannot disagree about them.
"""

from django.db.models import QuerySet

from analytics.models import InventoryRecord, SaleRecord

from ..data import ReportParameters


def sales(workspace_id: int, params: ReportParameters) -> QuerySet[SaleRecord]:
    qs = SaleRecord.objects.filter(workspace_id=workspace_id)
    if params.date_from:
        qs = qs.filter(sale_date__gte=params.date_from)
    if params.date_to:
        qs = qs.filter(sale_date__lte=params.date_to)
    return _common(qs, params).order_by()


def inventory(workspace_id: int, params: ReportParameters) -> QuerySet[InventoryRecord]:
    """Inventory rows of the latest snapshot on or before ``date_to`` (stock is a level)."""
    qs = _common(InventoryRecord.objects.filter(workspace_id=workspace_id), params)
    dated = qs.filter(snapshot_date__lte=params.date_to) if params.date_to else qs
    latest = dated.order_by("-snapshot_date").values_list("snapshot_date", flat=True).first()
    if latest is None:
        return qs.none()
    return qs.filter(snapshot_date=latest).order_by()


def _common(qs, params: ReportParameters):
    if params.clients:
        qs = qs.filter(client__code__in=params.clients)
    if params.skus:
        qs = qs.filter(sku__in=params.skus)
    if params.product_groups:
        qs = qs.filter(product_group__in=params.product_groups)
    if params.states and qs.model is SaleRecord:
        qs = qs.filter(state__in=params.states)
    return qs
