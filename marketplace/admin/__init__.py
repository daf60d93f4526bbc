"""Back office of the marketplace app: the catalogue staff curate, and what workspaces
bought, installed and downloaded (staff may buy or install for a workspace)."""

from . import catalogue, usage  # noqa: F401
