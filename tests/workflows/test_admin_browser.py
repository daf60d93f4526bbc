"""An execution's page in the admin, in Chromium: the span tree and the timing chart.

The issue's "done when": a staff member signs in, opens a failed execution with a
retried node, sees the spans (one row per attempt, nested under their parent) and the
Gantt chart drawn, and a screenshot is kept.  Debian's Chromium as in tests/e2e
(skipped without it); Playwright in a thread of its own, as in tests/reports.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.e2e.conftest import CHROMIUM, admin_session
from tests.factories import (
    ConnectionFactory,
    ExecutionFactory,
    NodeExecutionFactory,
    NodeFactory,
    UserFactory,
    WorkflowFactory,
    WorkflowVersionFactory,
    WorkspaceFactory,
)
from workflows.models import Execution, NodeExecution

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct horse battery staple"
Span = NodeExecution.Status


def a_failed_run_with_a_retry() -> Execution:
    """start → fetch (failed, retried, failed again) ; start → transform (succeeded)."""
    workspace = WorkspaceFactory()
    workflow = WorkflowFactory(workspace=workspace, name="Nightly orders")
    start = NodeFactory(workspace=workspace, workflow=workflow, key="start", name="Start")
    for key, type_, config in (("fetch", "http_request", {"url": "https://example.com/o"}),
                               ("transform", "json_transform", {"expression": "rows"})):
        node = NodeFactory(workspace=workspace, workflow=workflow, key=key, type=type_,
                           config=config)
        ConnectionFactory(workspace=workspace, workflow=workflow, source=start, target=node)
    version = WorkflowVersionFactory(workspace=workspace, workflow=workflow, number=1)
    t0 = timezone.now() - timedelta(minutes=5)
    execution = ExecutionFactory(
        workspace=workspace, workflow=workflow, version=version,
        status=Execution.Status.FAILED,
        input={"day": "2026-11-28"}, output=None, started_at=t0,
        finished_at=t0 + timedelta(seconds=4), duration_ms=4000, failed_node="fetch",
        error="fetch: HTTP 503 from the orders API", nodes_total=3, nodes_succeeded=2,
        nodes_failed=1)

    def span(key, attempt, status, begin_ms, length_ms, **fields):
        return NodeExecutionFactory(
            workspace=workspace, execution=execution, node_key=key, attempt=attempt,
            status=status, started_at=t0 + timedelta(milliseconds=begin_ms),
            finished_at=t0 + timedelta(milliseconds=begin_ms + length_ms),
            duration_ms=length_ms, **fields)

    start = span("start", 1, Span.SUCCEEDED, 0, 15, node_type="trigger", node_name="Start",
                 output={"day": "2026-11-28"})
    span("transform", 1, Span.SUCCEEDED, 30, 250, node_type="json_transform",
         node_name="Shape rows", parent_span_id=start.span_id,
         input={"main": {"day": "2026-11-28"}}, output={"rows": [1, 2, 3]})
    span("fetch", 1, Span.FAILED, 30, 900, node_type="http_request", node_name="Fetch orders",
         parent_span_id=start.span_id, output=None, error="HTTP 503 Service Unavailable")
    span("fetch", 2, Span.FAILED, 1900, 1100, node_type="http_request",
         node_name="Fetch orders", parent_span_id=start.span_id, output=None,
         error="HTTP 503 Service Unavailable")
    return execution


def look_at_the_execution(base_url: str, email: str, execution_id: int, shot) -> None:
    from playwright.sync_api import expect

    with admin_session(base_url, email, PASSWORD,
                       viewport={"width": 1400, "height": 1000}) as page:
        page.goto(f"/admin/workflows/execution/{execution_id}/change/")
        expect(page.locator(".field-status_badge")).to_contain_text("Failed")

        # The span tree: four rows (one per attempt), children nested under "start".
        rows = page.locator("#span-tree tbody tr")
        expect(rows).to_have_count(4)
        expect(rows.first).to_have_attribute("data-node", "start")
        retried = page.locator('#span-tree tr[data-node="fetch"]')
        expect(retried).to_have_count(2)
        expect(retried.nth(1)).to_have_attribute("data-attempt", "2")
        expect(retried.nth(1)).to_have_class("wf-span wf-depth-1")
        expect(retried.nth(1).locator(".wf-error")).to_contain_text("HTTP 503")
        # Folded data opens on a click (plain <details>, no script).
        transform = page.locator('#span-tree tr[data-node="transform"]')
        transform.locator("summary").nth(1).click()
        expect(transform.locator("pre").nth(1)).to_be_visible()
        expect(transform.locator("pre").nth(1)).to_contain_text('"rows"')

        # The version's graph, each node outlined by how it went in this run.
        graph = page.locator("#run-graph svg")
        expect(graph.locator("g.wf-node")).to_have_count(3)
        expect(graph.locator('g.wf-node[data-key="fetch"]')).to_have_attribute(
            "data-status", "failed")

        # The timing chart: an SVG with a bar per attempt, drawn with a real size.
        chart = page.get_by_role("img", name="Timing of 4 spans")
        expect(chart).to_be_visible()
        box = chart.bounding_box()
        assert box is not None and box["width"] > 500 and box["height"] > 80, box
        bars = page.locator("#timing-chart g.wf-bar rect")
        expect(bars).to_have_count(4)
        widths = [bars.nth(i).bounding_box()["width"] for i in range(4)]
        assert all(width >= 2 for width in widths), widths
        expect(page.get_by_role("button", name="Re-run from failed node")).to_be_visible()

        page.screenshot(path=str(shot), full_page=True)


def test_the_execution_page_shows_the_span_tree_and_timing_chart(live_server, tmp_path):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"needs Debian's Chromium at {CHROMIUM}: apt-get install -y chromium")
    execution = a_failed_run_with_a_retry()
    staff = UserFactory(is_staff=True, is_superuser=True)
    shot = tmp_path / "execution.png"

    with ThreadPoolExecutor(max_workers=1) as browser_thread:
        browser_thread.submit(look_at_the_execution, live_server.url, staff.email,
                              execution.pk, shot).result()

    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank image
