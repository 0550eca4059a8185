"""RP-initiated logout in a browser: a client app sends the person to the end_session_endpoint,
with its ID token as a hint (signed out at once, back at the app with its state) or without one
(asked first, on a page that works without JavaScript)."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from playwright.sync_api import expect

from audit.context import Actor
from oauth.services import ClientInput, client_create
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, ProjectFactory, UserFactory

pytestmark = [pytest.mark.e2e]

APP_REDIRECT = "https://app.example/cb"
APP_SIGNED_OUT = "https://app.example/signed-out"
EMAIL = "nurse@ward.test"


@pytest.fixture
def app(live_server, settings):
    settings.ISSUER_URL = live_server.url
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": live_server.url}
    project = ProjectFactory(name="Ward")
    MembershipFactory(user=UserFactory(email=EMAIL), project=project)
    return client_create(
        project=project,
        actor=Actor.system(),
        data=ClientInput(
            name="Ward rounds",
            grant_types=["authorization_code"],
            redirect_uris=[APP_REDIRECT],
            post_logout_redirect_uris=[APP_SIGNED_OUT],
            scopes=["openid", "email"],
        ),
    )


@pytest.fixture
def arrived(page) -> list[str]:
    """What reached the (intercepted) client app."""
    urls: list[str] = []
    page.route(
        "https://app.example/**", lambda route: (urls.append(route.request.url), route.fulfill(body="ok"))
    )
    return urls


def _id_token(page, app, arrived, live_server) -> str:
    """The app signs the person in (code flow, consent in the page) and keeps the ID token."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    page.goto("/o/authorize/?" + urlencode({
        "response_type": "code", "client_id": app.client.client_id, "redirect_uri": APP_REDIRECT,
        "scope": "openid email", "state": "in", "nonce": "n",
        "code_challenge": challenge, "code_challenge_method": "S256",
    }))  # fmt: skip
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(re.compile(r"^https://app\.example/cb"))
    code = parse_qs(urlsplit(arrived[-1]).query)["code"][0]
    response = requests.post(
        f"{live_server.url}/o/token/",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": APP_REDIRECT,
            "code_verifier": verifier,
        },
        auth=(app.client.client_id, app.client_secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["id_token"]


def _click_sign_out_at_the_app(page, live_server, **params) -> None:
    """The app's page (intercepted) links to our end_session_endpoint; the person clicks it.
    (As a real app would; also, a redirect that follows page.goto() was not always intercepted by
    page.route() in this Chromium, while one that follows a click is.)"""
    url = f"{live_server.url}/o/logout/?{urlencode(params)}"
    page.set_content(f'<a href="{html.escape(url)}">Sign out of Ward rounds</a>')
    page.get_by_role("link", name="Sign out of Ward rounds").click()


def _signed_out(page) -> None:
    page.goto("/account/connected-apps/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_logout_with_a_valid_hint_returns_to_the_app_without_a_question(
    page, sign_in, app, arrived, live_server
):
    sign_in(EMAIL, DEFAULT_PASSWORD)
    id_token = _id_token(page, app, arrived, live_server)

    _click_sign_out_at_the_app(
        page, live_server, id_token_hint=id_token, post_logout_redirect_uri=APP_SIGNED_OUT, state="bye-1"
    )
    page.wait_for_url(re.compile(r"^https://app\.example/signed-out"))
    assert arrived[-1] == f"{APP_SIGNED_OUT}?state=bye-1"
    _signed_out(page)


def test_logout_without_a_hint_asks_first(page, sign_in, app, arrived, live_server):
    sign_in(EMAIL, DEFAULT_PASSWORD)
    page.goto("https://app.example/home")  # the app (intercepted)
    _click_sign_out_at_the_app(
        page,
        live_server,
        client_id=app.client.client_id,
        post_logout_redirect_uri=APP_SIGNED_OUT,
        state="bye-2",
    )
    expect(page.get_by_role("heading", name="Sign out of Identity Portal?")).to_be_visible()
    expect(page.get_by_text("Ward rounds asks to sign you out.")).to_be_visible()
    expect(page.get_by_text(f"Signed in as {EMAIL}.")).to_be_visible()  # nothing happened yet

    page.locator("#logoutForm").get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"^https://app\.example/signed-out"))
    assert arrived[-1] == f"{APP_SIGNED_OUT}?state=bye-2"
    _signed_out(page)
