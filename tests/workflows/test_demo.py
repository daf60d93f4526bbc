"""The demo workflows ``seed_demo`` makes: there once however often it runs, published
without graph problems, deployed, with the triggers the demo describes."""

import io

import pytest
from django.core.management import call_command

from workflows import demo
from workflows.graph import graph_problems
from workflows.models import Deployment, Trigger, Workflow, WorkflowVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(settings, tmp_path):
    settings.DEBUG = True
    settings.MEDIA_ROOT = tmp_path
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    first, second = io.StringIO(), io.StringIO()
    call_command("seed_demo", stdout=first)
    call_command("seed_demo", stdout=second)
    return first.getvalue(), second.getvalue()


def test_seeding_twice_makes_each_demo_workflow_once(seeded):
    first, second = seeded
    names = [demo.NIGHTLY, demo.HEALTH]
    assert sorted(Workflow.objects.values_list("name", flat=True)) == sorted(names)
    for name in names:
        assert first.count(f'Demo workflow "{name}"') == 1  # one line per workflow
        assert f'Demo workflow "{name}"' not in second  # the second seed does nothing
    assert WorkflowVersion.objects.count() == 2
    assert Trigger.objects.count() == 3
    for workflow in Workflow.objects.all():  # each published without graph problems
        assert workflow.status == Workflow.Status.ACTIVE
        [version] = workflow.versions.all()
        assert graph_problems(version.graph) == []
        assert Deployment.objects.get(workflow=workflow, is_active=True).version == version


def test_the_demo_workflows_have_the_shape_and_triggers_described(seeded):
    _nightly_chain_imports_reports_and_emails_at_two_in_sao_paulo()
    _health_check_branches_and_has_a_manual_and_a_webhook_trigger()


def _nightly_chain_imports_reports_and_emails_at_two_in_sao_paulo():
    workflow = Workflow.objects.get(name=demo.NIGHTLY)
    graph = workflow.versions.get().graph
    types = {node["key"]: node["type"] for node in graph["nodes"]}
    assert types == {"start": "trigger", "import_sales": "import_csv", "report": "run_report",
                     "email": "send_email"}
    [schedule] = workflow.triggers.all()
    assert schedule.kind == Trigger.Kind.SCHEDULE
    assert schedule.config == {"cron": "0 2 * * *", "timezone": "America/Sao_Paulo"}
    assert schedule.periodic_task is not None and schedule.periodic_task.enabled


def _health_check_branches_and_has_a_manual_and_a_webhook_trigger():
    workflow = Workflow.objects.get(name=demo.HEALTH)
    graph = workflow.versions.get().graph
    fetch = next(node for node in graph["nodes"] if node["key"] == "fetch")
    assert fetch["config"]["url"] == demo.health_url()
    branches = {(c["source_output"], c["target"]) for c in graph["connections"]
                if c["source"] == "check"}
    assert branches == {("true", "healthy"), ("false", "alert")}
    kinds = sorted(workflow.triggers.values_list("kind", flat=True))
    assert kinds == ["manual", "webhook"]
    assert workflow.triggers.get(kind="webhook").secret_ciphertext


def test_the_nightly_chain_runs_offline_and_emails_the_owner(
        seeded, mailoutbox, django_capture_on_commit_callbacks):
    from workflows.services.executions import execution_start

    workflow = Workflow.objects.get(name=demo.NIGHTLY)
    with django_capture_on_commit_callbacks(execute=True):
        execution = execution_start(workflow=workflow)
    execution.refresh_from_db()
    assert execution.status == "succeeded", execution.error
    sent = [m for m in mailoutbox if m.subject.startswith("Nightly sales")]
    assert [m.to for m in sent] == [["owner@acme-steel.local"]]
    job = execution.spans.get(node_key="import_sales").output
    assert job["duplicate_of"]  # the analytics demo's file again: nothing loaded twice
