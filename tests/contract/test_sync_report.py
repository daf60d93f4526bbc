"""The sync gate: full coverage today, and it fails when a model is left out."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import models
from django.test.utils import isolate_apps

from core import registry
from core.models import AuditEntry


def run_sync_report(*args) -> str:
    out = io.StringIO()
    call_command("sync_report", *args, stdout=out)
    return out.getvalue()


def test_current_project_is_fully_covered():
    report = run_sync_report("--check")
    assert "- Coverage: 100.0%" in report
    assert "| `core.AuditEntry` | `core_auditentry` | `/api/v1/audit-entries/` | yes |" in report


@isolate_apps("core")
def test_an_unregistered_model_fails_the_check(monkeypatch):
    class Orphan(models.Model):
        name = models.CharField(max_length=10)

        class Meta:
            app_label = "core"

        def __str__(self) -> str:
            return self.name

    owned = registry.owned_models()
    monkeypatch.setattr(registry, "owned_models", lambda: [*owned, Orphan])
    with pytest.raises(CommandError, match=r"core\.Orphan"):
        run_sync_report("--check")
    report = run_sync_report()
    assert "not registered in the admin; no API resource" in report
    assert "- Coverage: 100.0%" not in report


def test_append_only_model_that_accepts_writes_is_a_problem():
    resources = [r for r in registry.api_resources() if r.model is AuditEntry]
    resources[0].operations.add("create")
    row = registry.ModelCoverage(AuditEntry, resources, admin_registered=True, append_only=True)
    assert row.problems == ["append-only but the API accepts writes"]


def test_missing_operations_are_named():
    resource = registry.ApiResource(AuditEntry, object, "x", "x/", {"list", "retrieve"})
    row = registry.ModelCoverage(AuditEntry, [resource], admin_registered=True,
                                 append_only=False)
    assert row.problems == ["API lacks create, update, delete"]
