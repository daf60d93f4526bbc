"""The admin sign-in in a real browser: TOTP code, lockout, the unlock action, enrolment.

Playwright drives Debian's Chromium (see conftest.py) against ``live_server``; every
step is what a member of staff does by hand: type, click, read the page.
"""

import re
from pathlib import Path

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "e2e"


def staff_with_device(**kwargs) -> tuple[User, TOTPDevice]:
    user = UserFactory(is_staff=True, **kwargs)
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    return user, device


def current_code(device: TOTPDevice) -> str:
    """What the authenticator app shows now (the drift as the server last saw it)."""
    device.refresh_from_db()
    code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{code:0{device.digits}d}"


def sign_in(page: Page, email: str, password: str, code: str | None = None) -> None:
    page.goto("/admin/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    if code is not None:
        page.get_by_label("Two-factor code").fill(code)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def expect_admin_index(page: Page, live_server) -> None:
    expect(page).to_have_url(f"{live_server.url}/admin/")
    expect(page.locator("#site-name")).to_have_text("Synapscale back office")
    expect(page.locator("#content h1")).to_have_text("Administration")
    expect(page.locator("#logout-form")).to_be_attached()


def expect_refused(page: Page, message: str | re.Pattern) -> None:
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    expect(page.locator("#login-form")).to_be_visible()
    expect(page.locator("p.errornote[role=alert]")).to_contain_text(message)


def test_staff_signs_in_with_password_and_totp_code(page, live_server):
    user, device = staff_with_device()

    sign_in(page, user.email, PASSWORD)  # no code: asked for one, not let in
    expect_refused(page, "Enter the code from your authenticator app")

    sign_in(page, user.email, PASSWORD, current_code(device))

    expect_admin_index(page, live_server)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "admin-index.png", full_page=True)
    user.refresh_from_db()
    assert (user.login_count, user.failed_login_attempts, user.locked_until) == (1, 0, None)


def test_lockout_refuses_the_right_password_until_a_superuser_unlocks(
        new_page, live_server, settings):
    settings.LOGIN_MAX_FAILURES = 3
    admin, admin_device = staff_with_device(is_superuser=True, email="root@example.com")
    victim, victim_device = staff_with_device(email="locked@example.com")

    admin_page = new_page()
    sign_in(admin_page, admin.email, PASSWORD, current_code(admin_device))
    expect_admin_index(admin_page, live_server)

    # Another browser (own session): wrong passwords up to the threshold lock the account.
    victim_page = new_page()
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        sign_in(victim_page, victim.email, "wrong password")
        expect_refused(victim_page, "The email or password is incorrect.")
    sign_in(victim_page, victim.email, "wrong password")
    expect_refused(victim_page, "locked until")

    # Locked: even the right password and the right code are refused.
    sign_in(victim_page, victim.email, PASSWORD, current_code(victim_device))
    expect_refused(victim_page, re.compile(r"this account is locked until \d{4}-\d\d-\d\d "))
    victim.refresh_from_db()
    assert victim.is_locked
    assert victim.failed_login_attempts == settings.LOGIN_MAX_FAILURES

    # The superuser unlocks it from the user list.
    admin_page.goto("/admin/accounts/user/")
    row = admin_page.locator("#result_list tbody tr", has_text=victim.email)
    row.locator("input.action-select").check()
    admin_page.locator("select[name=action]").select_option("unlock_accounts")
    with admin_page.expect_navigation():
        admin_page.get_by_role("button", name="Go").click()
    expect(admin_page.locator("ul.messagelist li")).to_have_text("Unlocked 1 account(s).")
    victim.refresh_from_db()
    assert (victim.locked_until, victim.failed_login_attempts) == (None, 0)

    # The code refused while locked was never spent, but take the current one anyway.
    sign_in(victim_page, victim.email, PASSWORD, current_code(victim_device))
    expect_admin_index(victim_page, live_server)


def test_required_2fa_sends_staff_without_a_device_to_enrolment(page, live_server, settings):
    settings.REQUIRE_STAFF_2FA = True
    user = UserFactory(is_staff=True, email="newstaff@example.com")
    setup_url = f"{live_server.url}/account/two-factor/setup/"

    sign_in(page, user.email, PASSWORD)
    expect(page).to_have_url(setup_url)

    # The admin sends them back to enrolment rather than in (or round in a loop).
    page.goto("/admin/")
    expect(page).to_have_url(setup_url)
    page.goto("/admin/accounts/user/")
    expect(page).to_have_url(setup_url)
    expect(page.locator("#content h1")).to_have_text("Set up two-factor authentication")
    expect(page.locator(".qr svg")).to_be_visible()
    expect(page.locator("#otp-uri")).to_contain_text("otpauth://totp/")

    # The pending (unconfirmed) device is the one whose secret the page shows.
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert device.config_url in page.locator("#otp-uri").inner_text()
    page.get_by_label("Code from your authenticator app").fill(current_code(device))
    with page.expect_navigation():
        page.get_by_role("button", name="Turn on two-factor authentication").click()

    codes = page.locator("#backup-codes li code")
    expect(codes).to_have_count(10)
    assert len(set(codes.all_inner_texts())) == 10
    device.refresh_from_db()
    assert device.confirmed

    with page.expect_navigation():
        page.get_by_role("link", name="Continue to the back office").click()
    expect_admin_index(page, live_server)
