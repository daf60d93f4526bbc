"""Users and their security state."""
