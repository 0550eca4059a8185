"""The portal as an administrator uses it: sign in, find a member, change them, see errors, be refused.

Everything goes through the real pages in Chromium; assertions wait with Playwright's `expect`.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Membership, Role
from tests.factories import AccessPolicyFactory, MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def team(transactional_db):
    """A project with an owner, two members and two access policies."""
    project = ProjectFactory(name="Clinic North", slug="clinic-north")
    owner = MembershipFactory(project=project, role=Role.OWNER, user=UserFactory(email="olive@clinic.test"))
    clinician = AccessPolicyFactory(project=project, name="Clinician")
    read_only = AccessPolicyFactory(project=project, name="Read only")
    ada = MembershipFactory(
        project=project,
        user=UserFactory(email="ada@clinic.test", first_name="Ada", last_name="Lovelace"),
        access_policy=clinician,
        access_parameters={"org": "Organization/1"},
        profile="Practitioner/ada",
        external_id="ext-ada",
    )
    grace = MembershipFactory(
        project=project, user=UserFactory(email="grace@clinic.test", first_name="Grace", last_name="Hopper")
    )
    return {
        "project": project,
        "owner": owner,
        "ada": ada,
        "grace": grace,
        "clinician": clinician,
        "read_only": read_only,
    }


def users_path(project) -> str:
    return f"/portal/{project.slug}/users/"


def member_row(page, email: str):
    return page.get_by_role("row").filter(has_text=email)


def test_sign_in_lands_on_the_overview_then_the_member_list(page, sign_in, team):
    sign_in("olive@clinic.test")

    # the project's home is its overview (#13 item 13); its Users section lists the members
    expect(page).to_have_url(re.compile(re.escape(f"/portal/{team['project'].slug}/") + r"$"))
    expect(page.get_by_role("heading", name="Members")).to_be_visible()
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Users").click()
    expect(page).to_have_url(re.compile(re.escape(users_path(team["project"])) + r"$"))
    expect(page.get_by_role("heading", name="Users", level=1)).to_be_visible()
    expect(member_row(page, "ada@clinic.test")).to_contain_text("Ada Lovelace")
    expect(member_row(page, "ada@clinic.test")).to_contain_text("Clinician")
    expect(member_row(page, "grace@clinic.test")).to_contain_text("Grace Hopper")
    expect(member_row(page, "olive@clinic.test")).to_contain_text("Owner")
    # Header row + three members.
    expect(page.get_by_role("row")).to_have_count(4)


def test_edit_a_membership(page, sign_in, team):
    grace: Membership = team["grace"]
    sign_in("olive@clinic.test")
    page.goto(users_path(team["project"]))

    member_row(page, "grace@clinic.test").get_by_role("link", name="Grace Hopper").click()
    expect(page).to_have_url(re.compile(rf"/users/{grace.pk}/$"))
    expect(page.get_by_role("heading", name="Grace Hopper", level=1)).to_be_visible()

    page.get_by_label("Role").select_option("admin")
    page.get_by_label("Access policy").select_option(label="Read only")
    page.get_by_label("Access parameters").fill("org=Organization/42\nward=7")
    page.get_by_label("FHIR profile").fill("Practitioner/grace")
    page.get_by_role("button", name="Save changes").click()

    expect(page.get_by_role("status")).to_contain_text("Saved")
    expect(page).to_have_url(re.compile(rf"/users/{grace.pk}/$"))
    expect(page.get_by_label("Role")).to_have_value("admin")
    expect(page.get_by_label("Access policy")).to_have_value(str(team["read_only"].pk))
    expect(page.get_by_label("Access parameters")).to_have_value(re.compile(r"org=Organization/42\s+ward=7"))
    expect(page.get_by_label("FHIR profile")).to_have_value("Practitioner/grace")

    grace.refresh_from_db()
    assert grace.role == Role.ADMIN
    assert grace.access_policy == team["read_only"]
    assert grace.access_parameters == {"org": "Organization/42", "ward": "7"}
    assert grace.profile == "Practitioner/grace"

    # The list shows the new values too.
    page.get_by_role("link", name="← Users").click()
    expect(member_row(page, "grace@clinic.test")).to_contain_text("Admin")
    expect(member_row(page, "grace@clinic.test")).to_contain_text("Read only")


def test_a_form_error_is_shown_next_to_its_field_and_nothing_changes(page, sign_in, team):
    ada: Membership = team["ada"]
    sign_in("olive@clinic.test")
    page.goto(f"{users_path(team['project'])}{ada.pk}/")

    page.get_by_label("Role").select_option("admin")
    profile = page.get_by_label("FHIR profile")
    profile.fill("Banana/1")
    page.get_by_role("button", name="Save changes").click()

    # The message sits in the profile field's own block and is announced as its description.
    field = page.locator(".field").filter(has=page.get_by_label("FHIR profile"))
    expect(field).to_contain_text("Use a FHIR reference such as Practitioner/123.")
    expect(profile).to_have_attribute("aria-invalid", "true")
    expect(profile).to_have_accessible_description(re.compile(r"Use a FHIR reference"))
    expect(profile).to_have_value("Banana/1")  # what was typed is kept for correction
    expect(page.get_by_role("status")).to_have_count(0)  # no "Saved" message
    expect(page.locator(".field").filter(has=page.get_by_label("Role"))).not_to_contain_text(
        "Use a FHIR reference"
    )

    ada.refresh_from_db()
    assert ada.role == Role.MEMBER
    assert ada.profile == "Practitioner/ada"
    assert ada.access_policy == team["clinician"]

    # A fresh load shows the stored values, untouched.
    page.goto(f"{users_path(team['project'])}{ada.pk}/")
    expect(page.get_by_label("Role")).to_have_value("member")
    expect(page.get_by_label("FHIR profile")).to_have_value("Practitioner/ada")


def test_a_member_without_admin_role_is_refused(page, sign_in, team):
    sign_in("grace@clinic.test")

    response = page.goto(users_path(team["project"]))

    assert response is not None and response.status == 403
    expect(page.locator("body")).to_contain_text(re.compile(r"403|forbidden|not allowed|permission", re.I))
    expect(page.get_by_role("heading", name="Users")).to_have_count(0)
    expect(page.get_by_text("ada@clinic.test")).to_have_count(0)
