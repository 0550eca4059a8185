"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

Chromium is never downloaded: we launch the system binary (`/usr/bin/chromium`, or E2E_CHROMIUM).
Without it the tests skip; with REQUIRE_BROWSER=1 (CI) they fail instead.

Playwright's sync API keeps an asyncio event loop running in this thread, which trips Django's
async-unsafe guard on every ORM call the test makes. DJANGO_ALLOW_ASYNC_UNSAFE is set only while
the browser is up (package scope), so the rest of the suite keeps the guard when run together.

On a failing test a screenshot and the page's HTML land in E2E_ARTIFACTS (default var/e2e/).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import require_service

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
# As root, in a sandbox with no network but loopback: see the machine notes.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = int(os.environ.get("E2E_TIMEOUT_MS", "10000"))
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS", Path(__file__).resolve().parents[2] / "var" / "e2e"))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="package")
def browser():
    available = os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)
    require_service(
        available, f"Chromium not found at {CHROMIUM} (apt-get install chromium)", flag="REQUIRE_BROWSER"
    )
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        require_service(
            False, "playwright is not installed (pip install -e '.[dev]')", flag="REQUIRE_BROWSER"
        )

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    expect.set_options(timeout=TIMEOUT_MS)
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(request, browser, live_server, transactional_db):
    """A fresh browser context (no cookies) per test, with base_url set to the live server."""
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        stem = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        try:
            tab.screenshot(path=f"{stem}.png", full_page=True)
            Path(f"{stem}.html").write_text(tab.content(), encoding="utf-8")
        except Exception as exc:  # diagnostics must not hide the real failure
            print(f"could not save e2e artifacts: {exc}")
        else:
            print(f"e2e artifacts: {stem}.png, {stem}.html")
    context.close()


@pytest.fixture
def sign_in(page):
    """Sign in through the real email-first form (email, Continue, password), as a person would."""
    from playwright.sync_api import expect

    from tests.factories import DEFAULT_PASSWORD

    def do(email: str, password: str = DEFAULT_PASSWORD):
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill(email)
        page.get_by_role("button", name="Continue").click()
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign In", exact=True).click()
        expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
        return page

    return do
