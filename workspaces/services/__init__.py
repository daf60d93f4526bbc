"""Workspace writes with rules: membership and ownership, invitations, secrets, keys, files."""
