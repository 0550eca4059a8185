"""Brute-force protection in a browser: after N failed passwords the account is locked (the right
password too), the person gets one email, and its link (choose a new password) ends the lock.

docs/SECURITY.md, "Brute-force protection".
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from notifications.models import MessageKind, OutboundMessage
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.e2e

EMAIL = "robin@harbour.test"
NEW_PASSWORD = "violet harbour lantern 2718"


@pytest.fixture
def robin(live_server, settings):
    settings.APP_BASE_URL = live_server.url  # the email's link points at this server
    settings.LOCKOUT_THRESHOLD = 3
    settings.LOCKOUT_DELAY_BASE_SECONDS = 0  # no waits before the lock: nothing to sleep through
    project = ProjectFactory(name="Harbour Clinic")
    return MembershipFactory(project=project, user=UserFactory(email=EMAIL)).user


def password_step(page, password: str) -> None:
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In", exact=True).click()


def email_step(page) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_role("button", name="Continue").click()


def test_a_locked_account_is_unlocked_by_the_emails_link(page, robin, mailoutbox):
    email_step(page)
    for guess in ("guess number one", "guess number two", "guess number three"):
        password_step(page, guess)
        expect(page.get_by_role("alert")).to_contain_text("password you specified are not correct")
    password_step(page, DEFAULT_PASSWORD)  # the right password, but the account is locked now
    expect(page.get_by_role("alert")).to_have_text("Too many failed attempts. Try again in 15 minutes.")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))

    assert OutboundMessage.objects.filter(kind=MessageKind.ACCOUNT_LOCKED).count() == 1
    (email,) = mailoutbox
    assert email.to == [EMAIL] and "locked" in email.subject
    link = re.search(r"https?://\S+/setpassword/\S+", email.body).group(0)

    page.context.clear_cookies()
    page.goto(link)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password and sign in").click()
    expect(page.get_by_text("Your password is set")).to_be_visible()

    page.context.clear_cookies()  # and the sign-in form lets the person in again: the lock is gone
    email_step(page)
    password_step(page, NEW_PASSWORD)
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_text("Harbour Clinic").first).to_be_visible()
