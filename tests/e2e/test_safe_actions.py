"""Safe actions in a browser (#13 item 12): an admin deactivates a member through the confirmation
page (what happens, Cancel, the danger button), with JavaScript and without it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Membership
from tests.factories import MembershipFactory, ProjectFactory, UserFactory


@pytest.fixture
def team(transactional_db):
    project = ProjectFactory(name="Clinic")
    MembershipFactory(project=project, role="owner")
    admin = UserFactory(email="admin@clinic.test")
    admin.emailaddress_set.update(verified=True)
    MembershipFactory(project=project, user=admin, role="admin")
    member = MembershipFactory(
        project=project, user=UserFactory(email="ada@clinic.test", first_name="Ada", last_name="Lovelace")
    )
    return project, admin, member


def _deactivate_through_the_confirmation(tab, project, member) -> None:
    tab.goto(f"/portal/{project.slug}/users/{member.pk}/")
    tab.get_by_role("link", name="Deactivate…").click()
    expect(tab).to_have_url(re.compile(rf"/users/{member.pk}/deactivate/$"))
    expect(tab.get_by_role("heading", name="Deactivate Ada Lovelace (ada@clinic.test)?")).to_be_visible()
    expect(tab.get_by_text("You can reactivate them later")).to_be_visible()
    assert Membership.objects.get(pk=member.pk).is_active  # asking changed nothing

    tab.get_by_role("link", name="Cancel").click()  # Cancel goes back, still nothing done
    expect(tab).to_have_url(re.compile(rf"/users/{member.pk}/$"))
    assert Membership.objects.get(pk=member.pk).is_active

    tab.get_by_role("link", name="Deactivate…").click()
    tab.get_by_role("button", name="Deactivate").click()
    expect(tab).to_have_url(re.compile(rf"/users/{member.pk}/$"))
    expect(tab.get_by_text("ada@clinic.test was deactivated.")).to_be_visible()
    expect(tab.get_by_role("button", name="Reactivate")).to_be_visible()
    assert not Membership.objects.get(pk=member.pk).is_active


def test_deactivate_asks_then_deactivates_with_javascript(page, sign_in, team):
    project, admin, member = team
    sign_in(admin.email)
    _deactivate_through_the_confirmation(page, project, member)


def test_deactivate_asks_then_deactivates_without_javascript(page, sign_in, browser, live_server, team):
    project, admin, member = team
    sign_in(admin.email)  # the session of a signed-in admin, carried into a browser without JavaScript
    context = browser.new_context(base_url=live_server.url, locale="en-US", java_script_enabled=False)
    try:
        context.add_cookies(page.context.cookies())
        tab = context.new_page()
        _deactivate_through_the_confirmation(tab, project, member)
    finally:
        context.close()
