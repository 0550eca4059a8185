"""In Chromium, no page of the site breaks its Content-Security-Policy (docs/SECURITY.md).

Every HTML page of the site (tests/support/site_pages.py: the URL resolver walked, parametrised
routes with real objects) is opened as the person who would see it; the test fails on any CSP
violation the browser reports, through the console ("Refused to apply inline style …") or the
`securitypolicyviolation` event, and on a Permissions-Policy the browser cannot parse. The API
docs (Swagger UI) are waited for until they have drawn the operations. And the strength meter of
the set-password page works with JavaScript turned off.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from accounts.services.invitations import InviteInput, invitation_create
from audit.context import Actor
from tests.support.site_pages import build_site, html_pages

pytestmark = pytest.mark.e2e

# Runs in every page before its own scripts (Playwright injects it; the page's CSP does not apply).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} ` +
    `(${event.sourceFile || ""}:${event.lineNumber || ""})`);
});
"""


CONSOLE_PROBLEMS = re.compile(
    r"Content Security Policy|Refused to|Permissions-Policy|Permissions policy", re.I
)


@pytest.fixture
def site(transactional_db, settings, live_server, project, admin_user, sent_links):
    settings.APP_BASE_URL = live_server.url
    return build_site(settings=settings, project=project, admin_user=admin_user, sent_links=sent_links)


def signed_in_context(browser, live_server, settings, viewer, *, javascript: bool = True):
    from django.test import Client as DjangoClient

    context = browser.new_context(base_url=live_server.url, locale="en-US", java_script_enabled=javascript)
    context.add_init_script(RECORD_VIOLATIONS)
    if viewer is not None:
        django_client = DjangoClient()
        django_client.force_login(viewer)
        cookie = django_client.cookies[settings.SESSION_COOKIE_NAME]
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    return context


def test_no_page_violates_the_content_security_policy(browser, live_server, settings, site):
    pages = html_pages(site)
    assert len(pages) > 40, pages  # the whole site, not a handful
    assert any("/api/docs/" in url for url, _ in pages)
    problems: list[str] = []
    contexts: dict[object, object] = {}
    try:
        for url, viewer in pages:
            if viewer not in contexts:
                contexts[viewer] = signed_in_context(browser, live_server, settings, viewer)
            tab = contexts[viewer].new_page()
            console: list[str] = []
            tab.on("console", lambda message, sink=console: sink.append(f"{message.type}: {message.text}"))
            tab.goto(url, wait_until="load")
            if "/api/docs/" in url:  # Swagger UI draws after fetching the schema
                expect(tab.locator(".swagger-ui .opblock").first).to_be_visible()
            violations = tab.evaluate("window.__cspViolations")
            reported = [line for line in console if CONSOLE_PROBLEMS.search(line)]
            if violations or reported:
                problems.append(f"{url}: {violations} {reported}")
            tab.close()
    finally:
        for context in contexts.values():
            context.close()
    assert not problems, "\n".join(problems)


def test_the_api_docs_page_draws_its_operations_within_the_policy(
    browser, live_server, settings, transactional_db, admin_user
):
    context = signed_in_context(browser, live_server, settings, admin_user)
    tab = context.new_page()
    console: list[str] = []
    tab.on("console", lambda message: console.append(message.text))
    tab.goto("/api/docs/")
    expect(tab.locator(".swagger-ui .info .title")).to_contain_text("Identity Portal API")
    tab.locator(".swagger-ui .opblock-summary").first.click()  # expanding an operation restyles it
    expect(tab.locator(".swagger-ui .opblock-body").first).to_be_visible()
    assert tab.evaluate("window.__cspViolations") == []
    assert not [line for line in console if CONSOLE_PROBLEMS.search(line)]
    context.close()


def test_the_strength_meter_works_without_javascript(
    browser, live_server, settings, transactional_db, project, admin_user, sent_links
):
    settings.APP_BASE_URL = live_server.url
    invitation_create(
        project=project, actor=Actor(user=admin_user), data=InviteInput(email="joiner@example.test")
    )
    context = signed_in_context(browser, live_server, settings, None, javascript=False)
    tab = context.new_page()
    tab.goto(urlparse(sent_links()[-1]).path)
    tab.get_by_label("New password", exact=True).fill("qwerty123456")
    tab.get_by_role("button", name="Check strength").click()
    meter = tab.locator("meter#password-strength-meter")
    expect(meter).to_be_visible()
    assert int(meter.get_attribute("value")) <= 1
    expect(tab.locator(".password-strength")).to_contain_text("Weak")
    expect(tab.locator(".field-error")).to_contain_text("data breaches")  # next to the field
    tab.get_by_label("New password", exact=True).fill("a calm river at dawn")
    tab.get_by_label("New password confirmation").fill("a calm river at dawn")
    tab.get_by_role("button", name="Check strength").click()
    expect(tab.locator(".password-strength")).to_contain_text("Very strong")
    expect(tab.locator(".password-strength")).to_contain_text("Nothing was saved")
    tab.get_by_label("New password", exact=True).fill("a calm river at dawn")
    tab.get_by_label("New password confirmation").fill("a calm river at dawn")
    tab.get_by_role("button", name="Set password and sign in").click()
    expect(tab).to_have_url(re.compile(r"/portal/"))
    context.close()
