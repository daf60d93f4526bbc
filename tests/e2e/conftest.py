"""Real-browser tests: Playwright's sync API driving Debian's Chromium against ``live_server``.

The browser is Debian's ``chromium`` package (``apt-get install chromium``), never one
downloaded by ``playwright install``.  Without it these tests are skipped, with the reason.
"""

import os
import re
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
RESULTS_DIR = Path(__file__).resolve().parents[2] / "test-results" / "e2e"
TIMEOUT_MS = 10_000


@contextmanager
def admin_session(base_url: str, email: str, password: str, **context_options):
    """A page of a fresh headless Chromium, signed in to the admin as ``email``.

    For tests that drive Playwright in a thread of their own (its sync API keeps an event
    loop in the thread that starts it, and this package's browser may be open already).
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=base_url, locale="en-US",
                                          **context_options)
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            page.goto("/admin/login/")
            page.get_by_label("Email address").fill(email)
            page.get_by_label("Password").fill(password)
            with page.expect_navigation():
                page.get_by_role("button", name="Log in").click()
            yield page
        finally:
            browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="package")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"needs Debian's Chromium at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as env:
        # Playwright's sync API keeps an asyncio event loop running in the test's thread,
        # and Django then refuses the test's own (synchronous) ORM calls as "async
        # unsafe".  They are not async at all: lift the guard while the browser runs
        # (only then, so the rest of the suite keeps it).
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture
def new_page(browser, live_server, request):
    """``new_page()`` opens a page in a fresh context (its own cookies: its own session).

    On failure each page's screenshot is saved under test-results/e2e/.
    """
    contexts = []

    def open_page():
        context = browser.new_context(base_url=live_server.url, locale="en-US")
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    report = getattr(request.node, "report_call", None)
    for number, context in enumerate(contexts):
        if report is not None and report.failed:
            RESULTS_DIR.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^\w.-]+", "_", request.node.name)
            for page in context.pages:
                page.screenshot(path=RESULTS_DIR / f"FAILED-{name}-{number}.png", full_page=True)
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()
