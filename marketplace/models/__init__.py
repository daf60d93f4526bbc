"""Models of the marketplace app: the catalogue staff curate (components and their
versions) and what workspaces do with it (purchases, installations, downloads), plus
each user's rating."""

from .catalogue import ComponentVersion, MarketplaceComponent  # noqa: F401
from .usage import (  # noqa: F401
    ComponentDownload,
    ComponentInstallation,
    ComponentPurchase,
    ComponentRating,
)
