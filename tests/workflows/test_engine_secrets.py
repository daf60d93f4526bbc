"""A secret used by an HTTP node, end to end: it reaches the server and nowhere else,
not an execution, a span, an error, the audit trail or a log line."""

import logging

import pytest
from django.forms.models import model_to_dict

from core.models import AuditEntry
from tests.factories import SecretFactory
from tests.local_http import local_server
from tests.workflows.engine_nodes import (
    edge,
    engine_workflow,
    node,
    publish,
    run_eagerly,
    test_node_types,
)
from workflows.models import Execution, NodeExecution
from workspaces.services import vault

FIXTURES = (engine_workflow, run_eagerly, test_node_types)  # used by name as arguments
SECRET = "tok-9f8e7d6c5b4a"
pytestmark = pytest.mark.django_db


def test_a_secret_reaches_the_server_and_appears_nowhere_else(engine_workflow, run_eagerly,
                                                              settings, caplog):
    SecretFactory(workspace=engine_workflow.workspace, name="CRM_TOKEN",
                  ciphertext=vault.encrypt(SECRET))
    retry_once = {"max_attempts": 2, "backoff": 0, "jitter": 0, "max_delay": 0}
    with local_server() as server, caplog.at_level(logging.DEBUG):
        settings.WORKFLOW_HTTP_ALLOWED_HOSTS = [server.host]
        auth = {"Authorization": "Bearer {{ secrets.CRM_TOKEN }}"}
        publish(engine_workflow,
                [node("fetch", "http_request",
                      config={"url": server.url("/echo?token={{ secrets.CRM_TOKEN }}"),
                              "headers": auth}),
                 node("post", "http_request", retry_policy=retry_once, continue_on_fail=True,
                      config={"method": "POST", "url": server.url("/status/500"),
                              "headers": auth, "json": {"key": "{{ secrets.CRM_TOKEN }}"}})],
                [edge("start", "fetch"), edge("fetch", "post")])
        execution = run_eagerly(engine_workflow, {"customer": "ACME"})

    assert execution.status == Execution.Status.SUCCEEDED, execution.error
    assert server.requests[0]["headers"]["authorization"] == f"Bearer {SECRET}"
    fetch, = NodeExecution.objects.filter(execution=execution, node_key="fetch")
    assert fetch.output["json"]["headers"]["authorization"] == "Bearer ***"
    posts = NodeExecution.objects.filter(execution=execution, node_key="post")
    assert [(p.attempt, p.status) for p in posts] == [(1, "failed"), (2, "failed")]
    assert all("500" in p.error for p in posts)

    rows = [model_to_dict(execution)] + [model_to_dict(s) for s in
                                         NodeExecution.objects.filter(execution=execution)]
    rows += [model_to_dict(a) for a in AuditEntry.objects.all()]
    assert SECRET not in repr(rows)
    assert caplog.records, "the run logs (so the search below searched something)"
    assert SECRET not in caplog.text
