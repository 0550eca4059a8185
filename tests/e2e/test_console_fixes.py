"""#13 "Found, to fix": what an administrator sees and clicks, in Chromium (1366 px and 390 px)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from accounts.services.invitations import InviteInput, invitation_create, invitation_resend, invitation_revoke
from audit.context import Actor
from notifications.models import MessageKind, OutboundMessage
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def clinic(transactional_db, live_server, settings):
    settings.APP_BASE_URL = live_server.url
    project = ProjectFactory(name="Clinic East", slug="clinic-east")
    owner = MembershipFactory(project=project, role=Role.OWNER, user=UserFactory(email="owner@east.test"))
    return {"project": project, "owner": owner.user}


@pytest.fixture
def sign_in(page, live_server, settings):
    """A signed-in browser without going through the sign-in page (tested in test_flows.py and
    test_federation.py): the session of Django's test client, handed to Chromium as its cookie."""
    from django.test import Client as DjangoClient

    from accounts.models import User

    def do(email: str):
        django_client = DjangoClient()
        django_client.force_login(User.objects.get(email=email))
        cookie = django_client.cookies[settings.SESSION_COOKIE_NAME]
        page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
        page.goto("/portal/")
        return page

    return do


def test_a_revoked_invitations_message_offers_no_send_again(page, sign_in, clinic):
    # invite -> Resend -> Revoke -> open the first message: its link is dead, so is "Send again".
    actor = Actor(user=clinic["owner"])
    result = invitation_create(
        project=clinic["project"], actor=actor, data=InviteInput(email="late@east.test")
    )
    invitation_resend(invitation=result.invitation, actor=actor)
    invitation_revoke(invitation=result.invitation, actor=actor)
    first = OutboundMessage.objects.filter(kind=MessageKind.WELCOME_SET_PASSWORD).earliest("created_at")

    sign_in("owner@east.test")
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Outbox").click()
    page.get_by_role("row").filter(has_text="late@east.test").filter(
        has_text="Welcome / set password"
    ).last.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(rf"/outbox/{first.pk}/$"))
    expect(page.get_by_text("The invitation was revoked")).to_be_visible()
    expect(page.get_by_role("button", name="Send again")).to_have_count(0)


def test_the_new_client_form_names_its_groups_and_a_heading_click_ticks_nothing(page, sign_in, clinic):
    sign_in("owner@east.test")
    page.goto(f"/portal/{clinic['project'].slug}/clients/new/")
    grants = page.get_by_role("group", name="Grant types")
    code = grants.get_by_role("checkbox", name="Authorization code")
    expect(code).to_be_checked()
    ticked = page.locator("input[type=checkbox]:checked").count()
    page.get_by_text("Grant types", exact=True).click()
    page.get_by_text("Scopes", exact=True).click()
    expect(page.locator("input[type=checkbox]:checked")).to_have_count(ticked)
    expect(code).to_be_checked()
    # The label of each option still ticks its own box.
    grants.get_by_text("Client credentials").click()
    expect(grants.get_by_role("checkbox", name="Client credentials")).to_be_checked()
    expect(page.get_by_label("Redirect URIs", exact=True)).to_be_visible()
    expect(page.get_by_label("Access policy").locator("option").first).to_have_text("No access policy")
    # Number inputs look like the other inputs (same border and padding as a text input).
    style = (
        "e => { const s = getComputedStyle(e); return [s.borderTopColor, s.paddingLeft, s.borderRadius]; }"
    )
    number = page.get_by_label("Access token lifetime").evaluate(style)
    text = page.get_by_label("Name", exact=True).evaluate(style)
    assert number == text


def test_creating_a_client_then_reloading_shows_the_secret_once_and_creates_one_client(page, sign_in, clinic):
    from oauth.models import Client

    sign_in("owner@east.test")
    page.goto(f"/portal/{clinic['project'].slug}/clients/new/")
    page.get_by_label("Name", exact=True).fill("Night sync")
    page.get_by_role("group", name="Grant types").get_by_text("Authorization code").click()
    page.get_by_role("group", name="Grant types").get_by_text("Client credentials").click()
    page.get_by_role("button", name="Create client").click()
    expect(page.get_by_role("heading", name="Client created")).to_be_visible()
    secret = page.locator("#client-secret").inner_text()
    assert secret and secret not in page.url
    client = Client.objects.get(project=clinic["project"])
    expect(page).to_have_url(re.compile(rf"/clients/{client.pk}/secret/$"))

    page.reload()
    expect(page).to_have_url(re.compile(rf"/clients/{client.pk}/$"))
    expect(page.get_by_text("was shown once")).to_be_visible()
    expect(page.get_by_text(secret)).to_have_count(0)
    assert Client.objects.filter(project=clinic["project"]).count() == 1

    # The same name again is refused next to the field.
    page.goto(f"/portal/{clinic['project'].slug}/clients/new/")
    page.get_by_label("Name", exact=True).fill("night sync")
    page.get_by_role("group", name="Grant types").get_by_text("Authorization code").click()
    page.get_by_role("group", name="Grant types").get_by_text("Client credentials").click()
    page.get_by_role("button", name="Create client").click()
    field = page.locator(".field").filter(has=page.get_by_label("Name", exact=True))
    expect(field).to_contain_text("already exists in this project")
    assert Client.objects.filter(project=clinic["project"]).count() == 1


def test_a_policy_gets_rules_added_before_it_is_saved_and_typos_are_named(page, sign_in, clinic):
    from accounts.models import AccessPolicy

    sign_in("owner@east.test")
    page.goto(f"/portal/{clinic['project'].slug}/policies/new/")
    page.get_by_label("Name", exact=True).fill("Ward nurses")
    page.get_by_label("Resource type, rule 1").fill("Patient")
    page.get_by_label("Interactions, rule 1").fill("rs")
    # The help that says what to type is on the page and describes the inputs.
    expect(page.get_by_label("Resource type, rule 1")).to_have_accessible_description(
        re.compile("FHIR R4 resource type")
    )
    page.get_by_role("button", name="Add rule").click()
    new_row = page.get_by_label("Resource type, rule 2")
    expect(new_row).to_be_focused()
    expect(page.get_by_label("Resource type, rule 1")).to_have_value("Patient")
    assert not AccessPolicy.objects.filter(name="Ward nurses").exists()
    new_row.fill("Obsevation")
    page.get_by_label("Interactions, rule 2").fill("rs")
    page.get_by_label("Interactions, rule 2").press("Enter")  # Enter saves (not "Add rule")
    expect(page.get_by_text("Did you mean Observation?")).to_be_visible()
    expect(new_row).to_have_attribute("aria-invalid", "true")
    new_row.fill("Observation")
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_role("status")).to_contain_text("Ward nurses")
    policy = AccessPolicy.objects.get(name="Ward nurses")
    assert [str(rule) for rule in policy.rules.all()] == ["Patient.rs", "Observation.rs"]


NO_PAGE_SCROLL = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def busy_clinic(clinic):
    """The clinic with what makes pages wide: long names, members, a policy, audit events."""
    from accounts.services import access_policy_create, project_update
    from tests.factories import MembershipFactory, UserFactory

    actor = Actor(user=clinic["owner"])
    policy = access_policy_create(
        project=clinic["project"],
        name="Clinician",
        actor=actor,
        rules=[{"resource_type": "Patient", "interactions": "rs", "criteria": "organization=%org"}],
    )
    project_update(project=clinic["project"], actor=actor, display_name="Lab", default_access_policy=policy)
    for n in range(3):
        MembershipFactory(
            project=clinic["project"],
            user=UserFactory(email=f"a.very.long.address.number{n}@a-long-hospital-domain.example"),
            external_id=f"okta|00u{n}aaaaaaaaaaaaaaaaaaa",
        )
    invitation_create(project=clinic["project"], actor=actor, data=InviteInput(external_id="okta|new"))
    return {**clinic, "policy": policy}


def test_no_page_scrolls_sideways_at_390_px_and_the_header_links_stay_on_screen(page, sign_in, busy_clinic):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in("owner@east.test")
    slug = busy_clinic["project"].slug
    for path in (
        f"/portal/{slug}/users/",
        f"/portal/{slug}/invitations/",
        f"/portal/{slug}/policies/",
        f"/portal/{slug}/policies/new/",
        f"/portal/{slug}/clients/new/",
        f"/portal/{slug}/outbox/",
        f"/portal/{slug}/audit/",
        f"/portal/{slug}/settings/",
        "/account/connected-apps/",
    ):
        page.goto(path)
        assert page.evaluate(NO_PAGE_SCROLL) <= 0, path
        for link in page.get_by_role("navigation", name="Account").get_by_role("link").all():
            box = link.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, (path, link.inner_text())


def test_the_audit_page_fits_1366_px_and_its_details_read_as_changes(page, sign_in, busy_clinic):
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in("owner@east.test")
    page.goto(f"/portal/{busy_clinic['project'].slug}/audit/")
    assert page.evaluate(NO_PAGE_SCROLL) <= 0
    table = page.locator("table.audit")
    assert table.evaluate("t => t.parentElement.scrollWidth <= t.parentElement.clientWidth")
    row = page.get_by_role("row").filter(has_text="Project updated").first
    expect(row).to_contain_text("display_name: '' → 'Lab'")
    expect(row).to_contain_text("default_access_policy: none → 'Clinician'")
    expect(page.locator("table.audit")).not_to_contain_text(str(busy_clinic["policy"].pk))
    expect(page.locator("table.audit")).not_to_contain_text("{'")


def test_a_deactivated_member_sees_the_products_not_found_page(page, sign_in, clinic, settings):
    from tests.factories import MembershipFactory, UserFactory

    settings.DEBUG = True  # as `make run`: Django's own debug page used to show
    MembershipFactory(
        project=clinic["project"], role=Role.ADMIN, is_active=False, user=UserFactory(email="gone@east.test")
    )
    sign_in("gone@east.test")
    page.goto(f"/portal/{clinic['project'].slug}/users/")
    expect(page.get_by_role("heading", name="404 – Not found")).to_be_visible()
    expect(page.get_by_role("link", name="Back to your projects")).to_be_visible()
    expect(page.get_by_text("URLconf")).to_have_count(0)
    page.goto("/portal/switch/?project=no-such-project")
    expect(page.get_by_role("heading", name="404 – Not found")).to_be_visible()


def test_invited_people_read_as_invited_and_a_bulk_upload_counts_them_right(page, sign_in, clinic, tmp_path):
    sign_in("owner@east.test")
    slug = clinic["project"].slug
    csv = tmp_path / "people.csv"
    csv.write_text("email,external_id,first_name\n,okta|00u7,Kim\nnew@east.test,,Nia\n", encoding="utf-8")
    page.goto(f"/portal/{slug}/users/invite/bulk/")
    page.get_by_label("File").set_input_files(str(csv))
    page.get_by_role("button", name=re.compile("Upload|Invite|Start")).click()
    expect(page.get_by_text(re.compile("Finished"))).to_be_visible()
    details = page.locator("dl.details")
    expect(
        details.locator("dt", has_text="Invited (new accounts)").locator("xpath=following-sibling::dd[1]")
    ).to_have_text("2")
    expect(
        details.locator("dt", has_text="Added (existing accounts)").locator("xpath=following-sibling::dd[1]")
    ).to_have_text("0")

    page.goto(f"/portal/{slug}/users/")
    for who in ("okta|00u7", "new@east.test"):
        expect(page.get_by_role("row").filter(has_text=who)).to_contain_text("Invited")
    expect(page.get_by_role("row").filter(has_text="owner@east.test")).to_contain_text("Active")
    page.goto(f"/portal/{slug}/invitations/")
    kim = page.get_by_role("row").filter(has_text="okta|00u7")
    expect(kim).to_contain_text("Pending")
    expect(kim).to_contain_text("Not sent: no email address")
    expect(kim).not_to_contain_text("Accepted")


def test_an_invitation_link_replaced_by_a_resend_says_a_newer_one_was_sent(page, clinic, mailoutbox):
    actor = Actor(user=clinic["owner"])
    result = invitation_create(
        project=clinic["project"], actor=actor, data=InviteInput(email="late2@east.test")
    )
    invitation_resend(invitation=result.invitation, actor=actor)
    old, new = (re.search(r"https?://\S+/setpassword/\S+", m.body).group(0) for m in mailoutbox)
    page.goto(old)
    expect(page.get_by_role("heading", name="A newer invitation was sent")).to_be_visible()
    expect(page.get_by_text("copied the whole address")).to_have_count(0)
    page.goto(new)
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()


def test_add_rule_works_without_javascript_too(browser, live_server, clinic, settings):
    """The server answers "Add rule" with the rows typed so far and one more, nothing saved."""
    from django.test import Client as DjangoClient

    from accounts.models import AccessPolicy

    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        django_client = DjangoClient()
        django_client.force_login(clinic["owner"])
        cookie = django_client.cookies[settings.SESSION_COOKIE_NAME]
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
        page = context.new_page()
        page.goto(f"/portal/{clinic['project'].slug}/policies/new/")
        page.get_by_label("Name", exact=True).fill("No script")
        page.get_by_label("Resource type, rule 1").fill("Patient")
        page.get_by_label("Interactions, rule 1").fill("r")
        page.get_by_role("button", name="Add rule").click()
        expect(page.get_by_label("Resource type, rule 2")).to_be_visible()
        expect(page.get_by_label("Resource type, rule 1")).to_have_value("Patient")
        assert not AccessPolicy.objects.filter(name="No script").exists()
        page.get_by_label("Resource type, rule 2").fill("Observation")
        page.get_by_label("Interactions, rule 2").fill("rs")
        page.get_by_role("button", name="Save policy").click()
        expect(page).to_have_url(re.compile(r"/policies/[0-9a-f-]{36}/$"))
        policy = AccessPolicy.objects.get(name="No script")
        assert [str(rule) for rule in policy.rules.all()] == ["Patient.r", "Observation.rs"]
    finally:
        context.close()
