"""Back office of the marketplace app."""
