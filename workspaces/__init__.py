"""Workspaces: the tenants, their members and roles, and what they own."""
