"""#13 item 6 in Chromium: a member's failed sign-in and sign-in appear in their project's audit
log, where the admin filters for them (they used to be stored without a project)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.e2e


def test_the_admin_filters_the_audit_log_for_a_members_failed_sign_ins(
    page, browser, live_server, transactional_db
):
    project = ProjectFactory(name="Clinic West", slug="clinic-west")
    MembershipFactory(project=project, role=Role.OWNER, user=UserFactory(email="owner@west.test"))
    MembershipFactory(project=project, user=UserFactory(email="nurse@west.test"))
    MembershipFactory(project=ProjectFactory(), user=UserFactory(email="stranger@elsewhere.test"))

    other = browser.new_context(base_url=live_server.url)  # the member's own browser
    tab = other.new_page()
    for email, password in (
        ("nurse@west.test", "not-my-password-1"),
        ("stranger@elsewhere.test", "nope-nope-nope-1"),
    ):
        tab.goto("/accounts/login/")
        tab.get_by_label("Email").fill(email)
        tab.get_by_role("button", name="Continue").click()
        tab.get_by_label("Password").fill(password)
        tab.get_by_role("button", name="Sign In", exact=True).click()
        expect(tab.get_by_role("alert")).to_be_visible()
    other.close()

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("owner@west.test")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign In", exact=True).click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
    page.goto("/portal/clinic-west/audit/")
    page.get_by_label("Action").select_option(label="Sign-in failed")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("nurse@west.test")
    expect(page.get_by_text("stranger@elsewhere.test")).to_have_count(0)  # another project's member
