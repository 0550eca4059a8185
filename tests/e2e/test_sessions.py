"""Ending another browser session from My account signs that browser out at its next request."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory

pytestmark = [pytest.mark.e2e]


def _sign_in(tab, email):
    tab.goto("/accounts/login/")
    tab.get_by_label("Email").fill(email)
    tab.get_by_role("button", name="Continue").click()
    tab.get_by_label("Password").fill(DEFAULT_PASSWORD)
    tab.get_by_role("button", name="Sign In", exact=True).click()
    expect(tab).not_to_have_url(re.compile(r"/accounts/login/"))


def test_ending_another_session_signs_that_browser_out(browser, live_server, transactional_db):
    user = UserFactory(email="two.browsers@example.test")
    user.emailaddress_set.update(verified=True)
    MembershipFactory(user=user)
    laptop_context = browser.new_context(base_url=live_server.url, user_agent="Laptop Chromium")
    phone_context = browser.new_context(base_url=live_server.url, user_agent="Phone Chromium")
    try:
        laptop, phone = laptop_context.new_page(), phone_context.new_page()
        _sign_in(laptop, user.email)
        _sign_in(phone, user.email)
        laptop.goto("/account/sessions/")
        phone_row = laptop.get_by_role("row").filter(has_text="Phone Chromium")
        expect(phone_row).to_be_visible()
        expect(laptop.get_by_role("row").filter(has_text="Laptop Chromium")).to_contain_text("This browser")
        phone_row.get_by_role("link", name="End").click()  # asks first: which browser, what happens
        expect(laptop.get_by_role("heading", name="End this session?")).to_be_visible()
        expect(laptop.get_by_text("Phone Chromium")).to_be_visible()
        laptop.get_by_role("button", name="End session").click()
        expect(laptop.get_by_text("The session is ended")).to_be_visible()
        expect(laptop.get_by_role("row").filter(has_text="Phone Chromium")).to_have_count(0)

        phone.goto("/account/sessions/")
        expect(phone).to_have_url(re.compile(r"/accounts/login/"))
        laptop.reload()
        expect(laptop).to_have_url(re.compile(r"/account/sessions/"))
    finally:
        laptop_context.close()
        phone_context.close()
