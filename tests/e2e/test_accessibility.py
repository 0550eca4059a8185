"""WCAG 2.1 AA in Chromium (#13 item 14): axe-core on every page, keyboard-only invite, no sideways scroll.

Every HTML page of the site but the Django admin and the API docs (third-party pages; the URL
walker of tests/support/site_pages.py, parametrised routes with real objects, each page as the
person who would see it) is opened at 1366 px and at 390 px wide; axe-core (npm `axe-core`,
tests/e2e/axe/, `npm ci` by .ci/run and `make test-e2e`) runs in it and the test fails on any
`serious` or `critical` violation, reported as rule, element, page and width. At 390 px no page
scrolls sideways (the document is no wider than the window). The sign-in page's password step,
its wrong-password answer and a form with errors are states the walker cannot reach by
GET; they are swept too.

The invite flow is done with the keyboard alone (Tab, Shift+Tab, Enter, Space and typing): sign in,
Users, Invite, fill the form, submit, read the result; every control reached shows a visible
focus indicator.

One browser context per width, reused across pages (cookies swapped when the viewer changes).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import TIMEOUT_MS
from tests.factories import DEFAULT_PASSWORD
from tests.support.site_pages import build_site, html_pages

pytestmark = pytest.mark.e2e

AXE_JS = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"desktop": 1366, "phone": 390}
HEIGHT = {"desktop": 900, "phone": 844}
# AXE_IMPACTS=minor,moderate,serious,critical lists the lesser findings too (for a review).
FAILING_IMPACTS = tuple(os.environ.get("AXE_IMPACTS", "serious,critical").split(","))
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]

RUN_AXE = """
async (tags) => {
  const results = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), impact: n.impact, summary: n.failureSummary})),
  }));
}
"""


def axe_source() -> Path:
    if not AXE_JS.is_file():
        from tests.conftest import require_service

        require_service(
            False,
            f"{AXE_JS} missing: npm ci --prefix tests/e2e/axe (make test-e2e does)",
            flag="REQUIRE_BROWSER",
        )
    return AXE_JS


def is_swept(route) -> bool:
    """Our pages: not the Django admin nor the API docs (Swagger UI), third-party pages, nor an
    email's HTML in the outbox (its sandbox CSP runs no script, axe included; emails are not pages)."""
    return not (route.name.startswith("admin:") or route.name in {"api-docs", "portal:outbox_html"})


def sign_in_as(context, live_server, settings, viewer) -> None:
    from django.test import Client as DjangoClient

    context.clear_cookies()
    if viewer is not None:
        django_client = DjangoClient()
        django_client.force_login(viewer)
        cookie = django_client.cookies[settings.SESSION_COOKIE_NAME]
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def audit(tab, where: str) -> list[str]:
    """axe's serious/critical violations of the page as it is now, one line per element."""
    problems = []
    for violation in tab.evaluate(RUN_AXE, AXE_TAGS):
        for node in violation["nodes"]:
            impact = node["impact"] or violation["impact"]
            if impact in FAILING_IMPACTS:
                problems.append(
                    f"{where}: [{impact}] {violation['id']} at {node['target']}: {violation['help']}"
                )
    return problems


def overflow(tab, where: str, width: int) -> list[str]:
    scroll_width = tab.evaluate("document.documentElement.scrollWidth")
    if scroll_width <= width:
        return []
    widest = tab.evaluate(
        """(width) => [...document.querySelectorAll("body *")]
          .filter((el) => el.getBoundingClientRect().right > width + 1)
          .slice(0, 3).map((el) => el.tagName.toLowerCase() + (el.className ? "." + el.className : ""))""",
        width,
    )
    return [f"{where}: scrollWidth {scroll_width} > {width} ({', '.join(widest)})"]


@pytest.fixture
def site(transactional_db, settings, live_server, project, admin_user, sent_links):
    settings.APP_BASE_URL = live_server.url
    return build_site(settings=settings, project=project, admin_user=admin_user, sent_links=sent_links)


def test_every_page_meets_wcag_21_aa_at_both_widths(
    browser, live_server, settings, site, project, admin_user
):
    axe = axe_source()
    pages = html_pages(site, include=is_swept)
    assert len(pages) > 40, pages  # the whole site, not a handful
    pages.sort(key=lambda page: str(getattr(page[1], "pk", "")))  # one cookie swap per viewer
    problems: list[str] = []
    for label, width in WIDTHS.items():
        context = browser.new_context(
            base_url=live_server.url, locale="en-US", viewport={"width": width, "height": HEIGHT[label]}
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(path=str(axe))
        tab = context.new_page()
        try:
            viewer = object()
            for url, who in pages:
                if who is not viewer:
                    sign_in_as(context, live_server, settings, who)
                    viewer = who
                tab.goto(url, wait_until="load")
                print(f"axe {url} @{width}px", flush=True)
                where = f"{url} @{width}px"
                problems += audit(tab, where)
                if width < 600:
                    problems += overflow(tab, where, width)
            # the states a GET does not show
            sign_in_as(context, live_server, settings, admin_user)
            tab.goto(f"/portal/{project.slug}/clients/new/")
            tab.locator("main form button[type=submit]").last.click()
            tab.wait_for_load_state("load")
            for where in (f"{tab.url} (form errors) @{width}px",):
                problems += audit(tab, where) + (overflow(tab, where, width) if width < 600 else [])
            sign_in_as(context, live_server, settings, None)
            tab.goto("/accounts/login/")
            tab.get_by_label("Email").fill(admin_user.email)
            tab.get_by_role("button", name="Continue").click()
            expect(tab.get_by_label("Password")).to_be_visible()
            where = f"{tab.url} (password step) @{width}px"
            problems += audit(tab, where) + (overflow(tab, where, width) if width < 600 else [])
            tab.get_by_label("Password").fill("not the password")
            tab.get_by_role("button", name="Sign In", exact=True).click()
            expect(tab.locator(".errorlist, .message.error, [role=alert]").first).to_be_visible()
            where = f"{tab.url} (wrong password) @{width}px"
            problems += audit(tab, where) + (overflow(tab, where, width) if width < 600 else [])
        finally:
            context.close()
    assert not problems, f"{len(problems)} accessibility problem(s):\n" + "\n".join(problems)


# --- keyboard only -------------------------------------------------------------------------------

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const ring = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) ||
    (style.boxShadow && style.boxShadow !== "none");
  const name = (el.getAttribute("aria-label") || el.labels?.[0]?.innerText || el.innerText ||
    el.value || el.name || "").trim();
  return {tag: el.tagName.toLowerCase(), type: el.type || "", name, ring};
}"""


def focus(tab, matches, *, key: str = "Tab", limit: int = 60) -> dict:
    """Press `key` until the focused element matches; every element passed shows its focus."""
    for _ in range(limit):
        tab.keyboard.press(key)
        current = tab.evaluate(FOCUSED)
        if current is None:
            continue
        assert current["ring"], f"no visible focus on {current} at {tab.url}"
        if matches(current):
            return current
    raise AssertionError(f"{key} never reached the element at {tab.url}")


def named(text: str, tag: str | None = None):
    return lambda el: (tag is None or el["tag"] == tag) and el["name"].lower().startswith(text.lower())


def test_the_invite_flow_with_the_keyboard_alone(page, live_server, project, admin_user, mailoutbox):
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/accounts/login/")
    focus(page, lambda el: el["tag"] == "input" and el["type"] == "email")
    page.keyboard.type(admin_user.email)
    focus(page, named("Continue", "button"))
    page.keyboard.press("Enter")
    expect(page.get_by_label("Password")).to_be_visible()
    page.locator("body").evaluate("(body) => document.activeElement?.blur()")
    focus(page, lambda el: el["tag"] == "input" and el["type"] == "password")
    page.keyboard.type(DEFAULT_PASSWORD)
    focus(page, named("Sign In", "button"))
    page.keyboard.press("Enter")
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))

    # the skip link comes first, then the navigation: Users
    focus(page, named("Skip to content", "a"))
    focus(page, named("Users", "a"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Users", level=1)).to_be_visible()
    focus(page, named("Invite", "a"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invite")

    focus(page, lambda el: el["tag"] == "input" and el["type"] == "email")
    page.keyboard.type("keyboard.joiner@example.test")
    # one step back and forth: Shift+Tab returns to the field
    page.keyboard.press("Tab")
    back = focus(page, lambda el: el["tag"] == "input" and el["type"] == "email", key="Shift+Tab")
    assert back["type"] == "email"
    focus(page, named("Send invitation", "button"))
    page.keyboard.press("Space")
    expect(page.get_by_role("status")).to_contain_text("Invited keyboard.joiner@example.test")
    assert any("keyboard.joiner@example.test" in message.to for message in mailoutbox)
