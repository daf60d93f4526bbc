"""Shared kernel: base models, API and admin bases, audit trail, health, gates."""
