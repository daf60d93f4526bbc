"""The run's report inside the admin, in Chromium: the sandboxed page draws its charts.

Debian's Chromium as in tests/e2e (skipped without it).  Playwright runs in a
thread of its own: its sync API keeps an event loop in the thread that starts
it, and tests/e2e's package-wide browser may be open in this one already.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from reports.models import ReportRun
from reports.services.runs import run_request
from tests.e2e.conftest import CHROMIUM, admin_session
from tests.factories import (
    MembershipFactory,
    ReportDefinitionFactory,
    UserFactory,
    WorkspaceFactory,
)

from .conftest import Q1_2025, add_sales

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct horse battery staple"


def look_at_the_report(base_url: str, email: str, run_id: int) -> None:
    from playwright.sync_api import expect

    with admin_session(base_url, email, PASSWORD) as page:
        page.goto(f"/admin/reports/reportrun/{run_id}/change/")
        expect(page.locator(".field-status_badge")).to_contain_text("Succeeded")
        page.get_by_role("link", name="View the report").first.click()

        frame_element = page.locator("iframe.report-frame")
        expect(frame_element).to_be_visible()
        assert frame_element.get_attribute("sandbox") == ""  # no scripts, no same origin
        report = page.frame_locator("iframe.report-frame")
        expect(report.get_by_role("heading", level=1)).to_have_text("Regional sales Q1")
        charts = report.locator("figure.report-chart svg")
        expect(charts).to_have_count(3)
        for number in range(3):
            box = charts.nth(number).bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 100, box
        expect(report.get_by_role("img", name="Weight by state")).to_be_visible()
        expect(report.locator("table[data-table='sales_by_state'] tbody tr")) \
            .to_have_count(2)


def test_the_admin_shows_the_stored_report_with_its_charts(live_server):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"needs Debian's Chromium at {CHROMIUM}: apt-get install -y chromium")
    workspace = WorkspaceFactory()
    add_sales(workspace)
    definition = ReportDefinitionFactory(
        workspace=workspace, name="Regional sales Q1", kind="regional_sales",
        parameters=dict(Q1_2025), recipients=[MembershipFactory(workspace=workspace).user])
    run = run_request(definition, trigger=ReportRun.Trigger.MANUAL)  # eager: built on commit
    run.refresh_from_db()
    assert run.status == ReportRun.Status.SUCCEEDED
    staff = UserFactory(is_staff=True, is_superuser=True)

    with ThreadPoolExecutor(max_workers=1) as browser_thread:
        browser_thread.submit(look_at_the_report, live_server.url, staff.email,
                              run.pk).result()
