"""A rendered report in a real browser: every chart's inline SVG is drawn and titled.

The page is self-contained (inline CSS and SVG), so it is opened from a file: no
``live_server`` and no database.  Chromium is Debian's (see conftest.py).
"""

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from reports.rendering.html import render_html
from tests.e2e.conftest import RESULTS_DIR, TIMEOUT_MS
from tests.reports.test_rendering import sample_report


@pytest.fixture
def report_page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        page.screenshot(path=RESULTS_DIR / f"FAILED-{name}.png", full_page=True)
    context.close()


def test_report_charts_are_drawn_in_chromium(report_page, tmp_path):
    data = sample_report()
    html_file = tmp_path / "report.html"
    html_file.write_text(render_html(data, generated_at=datetime(2025, 4, 2, 9, 30, tzinfo=UTC)),
                         encoding="utf-8")

    page = report_page
    page.goto(html_file.as_uri())
    expect(page.get_by_role("heading", level=1)).to_have_text(data.title)

    figures = page.locator("figure.report-chart")
    expect(figures).to_have_count(len(data.charts))
    for number, chart in enumerate(data.charts):
        figure = figures.nth(number)
        expect(figure).to_have_attribute("data-chart", chart.key)
        svg = figure.locator("svg")
        expect(svg).to_have_count(1)
        expect(svg).to_be_visible()
        box = svg.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100, box
        # The title is drawn as SVG text and names the image for assistive technology.
        expect(svg.locator("text", has_text=chart.title)).to_have_count(1)
        expect(page.get_by_role("img", name=chart.title)).to_be_visible()
        expect(figure.locator("figcaption")).to_have_text(chart.title)

    first_weight = page.locator("table[data-table='sales_by_state'] tbody tr").first
    expect(first_weight.locator("td").nth(1)).to_have_text("1,234.500")
    expect(first_weight.locator("td").nth(1)).to_have_css("text-align", "right")

    screenshot = tmp_path / "report.png"
    page.screenshot(path=screenshot, full_page=True)
    assert screenshot.exists()
    assert screenshot.stat().st_size > 20_000
