"""Two-factor authentication in Chromium (issue #12): enrol an authenticator app and sign in
with it; a project that requires MFA sends a member to enrolment; a client's `acr_values` steps
a one-factor session up. TOTP codes come from the secret the page shows, with allauth's HOTP."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.core.cache import cache
from playwright.sync_api import expect

from accounts.models import Role
from oauth.authn_context import Acr
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.e2e


def code_for(secret: str) -> str:
    cache.clear()  # allauth refuses a code used once within its window; each step here is new
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


@pytest.fixture
def clinic(transactional_db, live_server, settings):
    # A code computed just before a 30 s boundary is checked just after it (see tests/accounts/test_mfa.py).
    settings.MFA_TOTP_TOLERANCE = 1
    settings.APP_BASE_URL = live_server.url
    settings.ISSUER_URL = live_server.url
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": live_server.url}
    project = ProjectFactory(name="Clinic North", slug="clinic-north")
    member = MembershipFactory(project=project, role=Role.MEMBER, user=UserFactory(email="nina@north.test"))
    member.user.emailaddress_set.update(verified=True)
    return {"project": project, "user": member.user}


def confirm_password_if_asked(page) -> None:
    """allauth asks for the password again before a factor is added."""
    if "/accounts/reauthenticate/" in page.url:
        page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Confirm").click()


def activate_authenticator_app(page) -> str:
    confirm_password_if_asked(page)
    expect(page.get_by_role("heading", name="Activate Authenticator App")).to_be_visible()
    secret = page.locator("#authenticator_secret").input_value()
    page.get_by_label("Authenticator code").fill(code_for(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_role("heading", name="Recovery Codes")).to_be_visible()
    return secret


def test_enrol_an_authenticator_app_then_sign_in_with_it(page, sign_in, clinic):
    sign_in("nina@north.test")
    page.get_by_role("link", name="Two-factor").click()
    page.goto("/accounts/2fa/totp/activate/")
    secret = activate_authenticator_app(page)
    page.get_by_role("button", name="Sign out").click()

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("nina@north.test")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign In", exact=True).click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.get_by_label("Code").fill("000000" if code_for(secret) != "000000" else "111111")
    page.get_by_role("button", name="Sign In", exact=True).click()
    expect(page.get_by_text("Incorrect code")).to_be_visible()
    page.get_by_label("Code").fill(code_for(secret))
    page.get_by_role("button", name="Sign In", exact=True).click()
    expect(page).not_to_have_url(re.compile(r"/accounts/"))
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_a_project_requiring_mfa_sends_a_member_to_enrolment(page, sign_in, clinic):
    clinic["project"].mfa_required = True
    clinic["project"].save()
    sign_in("nina@north.test")
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    expect(page.get_by_text("Clinic North")).to_be_visible()
    page.goto("/account/sessions/")  # any other page: back to enrolment
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    page.get_by_role("link", name="Use an authenticator app").click()
    activate_authenticator_app(page)
    page.goto("/account/sessions/")
    expect(page.get_by_role("heading", name="Sessions")).to_be_visible()


def test_acr_values_step_up_a_password_only_session(page, sign_in, clinic, live_server):
    from authlib.integrations.requests_client import OAuth2Session

    from audit.context import Actor
    from oauth.services import ClientInput, client_create

    issued = client_create(
        project=clinic["project"],
        actor=Actor.system(),
        data=ClientInput(
            name="Prescriptions",
            grant_types=["authorization_code"],
            redirect_uris=["https://rx.example/cb"],
            scopes=["openid", "profile"],
        ),
    )
    landed: list[str] = []

    def app_callback(route):
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>Prescriptions: signed in</h1>")

    page.context.route("https://rx.example/**", app_callback)
    sign_in("nina@north.test")  # one factor: she had none yet
    secret = generate_totp_secret()
    TOTP.activate(clinic["user"], secret)  # set up since, elsewhere
    verifier = secrets.token_urlsafe(48)
    params = {
        "response_type": "code",
        "client_id": issued.client.client_id,
        "redirect_uri": "https://rx.example/cb",
        "scope": "openid profile",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        .rstrip(b"=")
        .decode(),
        "code_challenge_method": "S256",
        "acr_values": Acr.MULTI_FACTOR.value,
    }
    page.goto("/o/authorize/?" + urlencode(params))
    expect(page).to_have_url(re.compile(r"/accounts/2fa/reauthenticate/"))
    page.get_by_label("Code").fill(code_for(secret))
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("heading", name="Prescriptions: signed in")).to_be_visible()
    query = parse_qs(urlparse(landed[-1]).query)
    session = OAuth2Session(
        issued.client.client_id, issued.client_secret, redirect_uri="https://rx.example/cb"
    )
    token = session.fetch_token(
        f"{live_server.url}/o/token/",
        grant_type="authorization_code",
        code=query["code"][0],
        code_verifier=verifier,
    )
    payload = token["id_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["acr"] == Acr.MULTI_FACTOR and "mfa" in claims["amr"]
