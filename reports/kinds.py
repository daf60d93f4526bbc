"""The report kinds: a key, a label and the query module that builds its data."""

from importlib import import_module

from .data import ReportData, ReportParameters

KINDS = {
    "inventory_aging": "Inventory aging",
    "client_sales": "Client sales performance",
    "regional_sales": "Regional sales analysis",
    "product_mix": "Product mix",
    "sku_turnover": "SKU turnover and demand forecast",
    "inventory_recommendations": "Inventory optimisation recommendations",
}
CHOICES = list(KINDS.items())


def build(kind: str, workspace_id: int, params: ReportParameters) -> ReportData:
    """Run the kind's queries; each module in ``reports.queries`` exposes ``build``."""
    if kind not in KINDS:
        raise ValueError(f"Unknown report kind {kind!r}.")
    module = import_module(f"reports.queries.{kind}")
    return module.build(workspace_id, params)
