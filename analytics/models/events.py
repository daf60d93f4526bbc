"""Product analytics events: what users and the system did, captured by the API (single
and batch) and from domain events, charted by dashboards.

On PostgreSQL the table is partitioned by month of ``timestamp`` (native range
partitioning, partitions created ahead by beat and dropped by retention); elsewhere it is
a plain table.  An event is identified by the client's ``uuid`` within its workspace: the
same event sent twice is stored once (checked at capture, see
``analytics.services.capture``)."""

from __future__ import annotations

import uuid

from django.db import models

from core.tenancy import WorkspaceScoped

from .common import validate_object


class Event(WorkspaceScoped):
    """One captured event (append-only: written by capture, removed by retention only)."""

    append_only = True
    # Range-partitioned by month on PostgreSQL (analytics.partitions, migration 0006): the
    # database's primary key is (id, timestamp) and the month tables belong to it.
    partitioned_by = "timestamp"

    class Source(models.TextChoices):
        API = "api", "API capture"
        DOMAIN = "domain", "Domain event"
        ADMIN = "admin", "Back office"

    uuid = models.UUIDField(default=uuid.uuid4, help_text="The event's id: the client's "
                            "idempotency id (the same uuid again is stored once).")
    name = models.CharField(max_length=200, help_text='What happened, e.g. "signup" or '
                            '"workflows.execution.succeeded".')
    distinct_id = models.CharField(
        max_length=200, blank=True,
        help_text="Who did it: the client's id for the person (an anonymous id, or the "
                  "signed-in user's id when the client gives none); empty for system events.")
    session_id = models.CharField(max_length=200, blank=True)
    properties = models.JSONField(default=dict, blank=True, validators=[validate_object])
    timestamp = models.DateTimeField(
        help_text="When it happened: the client's time if it sent one, else the server's "
                  "(the month partition and dashboards use it).")
    received_at = models.DateTimeField(help_text="When the server stored it.")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.API)

    class Meta:
        ordering = ("-timestamp", "-id")
        indexes = [
            models.Index(fields=["workspace", "name", "timestamp"],
                         name="analytics_event_name_time"),
            models.Index(fields=["workspace", "timestamp"], name="analytics_event_time"),
            models.Index(fields=["workspace", "uuid"], name="analytics_event_uuid"),
            models.Index(fields=["workspace", "distinct_id", "timestamp"],
                         name="analytics_event_person"),
        ]

    def __str__(self) -> str:
        return f"{self.name} at {self.timestamp:%Y-%m-%d %H:%M:%S}"
