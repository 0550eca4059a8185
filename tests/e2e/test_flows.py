"""Journeys across pages: an invitation followed through the outbox, and an app signing a user in."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.e2e
NEW_PASSWORD = "a calm river at dawn"


@pytest.fixture
def clinic(transactional_db, live_server, settings):
    settings.APP_BASE_URL = live_server.url
    settings.ISSUER_URL = live_server.url
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": live_server.url}
    settings.OUTBOX_PREVIEW_ENABLED = True  # as in `make run` (DEBUG): the outbox shows the message
    project = ProjectFactory(name="Clinic South", slug="clinic-south")
    owner = MembershipFactory(project=project, role=Role.OWNER, user=UserFactory(email="owner@south.test"))
    return {"project": project, "owner": owner.user}


def test_invite_then_follow_the_link_from_the_outbox(page, sign_in, clinic):
    sign_in("owner@south.test")
    page.get_by_role("link", name="Invite").click()
    page.get_by_label("Email", exact=True).fill("newcomer@south.test")
    page.get_by_label("First name").fill("Nia")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invited newcomer@south.test")).to_be_visible()

    page.get_by_role("link", name="Outbox").click()
    row = page.get_by_role("row", name=re.compile("newcomer@south.test"))
    expect(row).to_contain_text("Sent")
    row.get_by_role("link").first.click()
    link = page.get_by_role("link", name=re.compile("setpassword"))
    href = link.get_attribute("href")
    assert href.startswith(page.url.split("/portal")[0] + "/setpassword/")

    page.context.clear_cookies()  # the invitee's own browser
    page.goto(href)
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password confirmation").fill("short")
    page.get_by_role("button", name="Set password and sign in").click()
    expect(page.get_by_text(re.compile("too short"))).to_be_visible()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password and sign in").click()
    expect(page.get_by_text("Your password is set")).to_be_visible()
    expect(page.get_by_text("Clinic South")).to_be_visible()

    page.goto(href)  # the link worked once
    expect(page.get_by_role("heading", name="This link was already used")).to_be_visible()
    page.context.clear_cookies()
    sign_in("newcomer@south.test", NEW_PASSWORD)


def test_web_app_signs_in_with_code_and_pkce_consent_once(page, sign_in, clinic, live_server):
    import base64
    import hashlib
    import secrets

    from authlib.integrations.requests_client import OAuth2Session

    from audit.context import Actor
    from oauth.services import ClientInput, client_create

    issued = client_create(
        project=clinic["project"],
        actor=Actor.system(),
        data=ClientInput(
            name="Care Notes",
            grant_types=["authorization_code"],
            redirect_uris=["https://notes.example/cb"],
            scopes=["openid", "profile", "email"],
        ),
    )
    client = issued.client
    landed: list[str] = []

    def app_callback(route):  # stands in for the web app's callback page
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>Care Notes: signed in</h1>")

    page.context.route("https://notes.example/**", app_callback)
    sign_in("owner@south.test")

    def authorize() -> tuple[str, str]:
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        params = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": "https://notes.example/cb",
            "scope": "openid profile email",
            "state": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "nonce": "n-" + secrets.token_urlsafe(6),
        }
        # The app sends the browser here with a link, as a real web app does.
        page.evaluate(
            "url => { window.location.href = url }", f"{live_server.url}/o/authorize/?" + urlencode(params)
        )
        return verifier, params["state"]

    verifier, state = authorize()
    expect(page.get_by_role("heading", name="Allow Care Notes to use your account?")).to_be_visible()
    expect(page.get_by_text("See your email address")).to_be_visible()
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("heading", name="Care Notes: signed in")).to_be_visible()
    query = parse_qs(urlparse(landed[-1]).query)
    assert query["state"] == [state] and query["iss"] == [live_server.url]
    session = OAuth2Session(client.client_id, issued.client_secret, redirect_uri="https://notes.example/cb")
    token = session.fetch_token(
        f"{live_server.url}/o/token/",
        grant_type="authorization_code",
        code=query["code"][0],
        code_verifier=verifier,
    )
    assert token["id_token"] and token["access_token"]

    authorize()  # second sign-in: consent remembered, straight back to the app
    expect(page.get_by_role("heading", name="Care Notes: signed in")).to_be_visible()
    assert len(landed) == 2 and "code=" in landed[-1]
