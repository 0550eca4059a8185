"""Federated sign-in in a real browser against a real OpenID provider process.

The provider is npm `oidc-provider` on loopback (tests/federation/oidc_provider/, standing in
for Okta, Auth0 and Cognito): the browser types an email on our sign-in page, lands on the
provider's login form, signs in there and comes back signed in here (or refused).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from playwright.sync_api import expect

from accounts.models import Membership, SignInMethod, User
from audit.context import Actor
from federation.models import MatchBy
from federation.selectors import identity_provider_callback_url
from federation.services import (
    IdentityProviderInput,
    domain_claim_create,
    domain_claim_verify_by_operator,
    identity_provider_create,
    identity_provider_input,
    identity_provider_update,
)
from oauth.services import ClientInput, client_create
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.support import oidc_provider

pytestmark = [pytest.mark.e2e, pytest.mark.services]

local_op = oidc_provider.local_op
DOMAIN = "acme.example"
APP_REDIRECT = "https://app.example/cb"


@pytest.fixture
def project(transactional_db):
    return ProjectFactory(name="Acme", allowed_sign_in_methods=[SignInMethod.PASSWORD, SignInMethod.OIDC])


@pytest.fixture
def make_idp(project, local_op, live_server, settings):
    """An `oidc` provider of `project` at the local OP, registered there with its exact callback URL,
    routing the verified domain acme.example."""
    settings.FEDERATION_ALLOW_HTTP_ISSUERS = True
    settings.APP_BASE_URL = live_server.url

    def make(**fields):
        actor = Actor.system()
        data = IdentityProviderInput(
            kind="oidc", name="Acme SSO", issuer=local_op.issuer, client_id="pending", client_secret="pending"
        )
        idp = identity_provider_create(project=project, actor=actor, data=data)
        client_id, client_secret = local_op.register_client(
            redirect_uris=[identity_provider_callback_url(idp)]
        )
        update = identity_provider_input(idp)
        update.client_id, update.client_secret = client_id, client_secret
        for name, value in fields.items():
            setattr(update, name, value)
        idp = identity_provider_update(identity_provider=idp, actor=actor, data=update)
        claim = domain_claim_create(identity_provider=idp, actor=actor, domain=DOMAIN)
        domain_claim_verify_by_operator(claim=claim, actor=actor)
        return idp

    return make


def _sign_in_upstream(page, *, email: str, login: str | None = None):
    """Email-first on our page, then the provider's login form (any password)."""
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/interaction/"))
    page.fill("input[name=login]", login or email)
    page.fill("input[name=password]", "any password")
    page.click("button:has-text('Sign-in')")


def test_email_first_sign_in_matched_by_verified_email(page, project, make_idp):
    make_idp()
    user = MembershipFactory(project=project, user=UserFactory(email=f"alice.smith@{DOMAIN}")).user
    _sign_in_upstream(page, email=f"alice.smith@{DOMAIN}")
    page.wait_for_url(re.compile(r"/portal/"))
    expect(page.get_by_text(f"alice.smith@{DOMAIN}").first).to_be_visible()
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("Alice", "Smith")  # refreshed from the provider
    assert user.socialaccount_set.get().uid == f"sub-alice.smith@{DOMAIN}"
    page.goto("/account/sign-in-methods/")
    expect(page.get_by_role("cell", name="Acme SSO")).to_be_visible()


def test_match_by_subject_signs_in_a_user_invited_by_external_id_only(page, project, make_idp):
    make_idp(match_by=MatchBy.SUBJECT)
    membership = MembershipFactory(
        project=project, user=UserFactory(email=None), external_id=f"sub-bob@{DOMAIN}"
    )
    _sign_in_upstream(page, email=f"bob@{DOMAIN}")
    page.wait_for_url(re.compile(r"/portal/"))
    assert membership.user.socialaccount_set.get().uid == f"sub-bob@{DOMAIN}"


def test_an_unknown_person_is_refused(page, project, make_idp):
    make_idp()
    _sign_in_upstream(page, email=f"mallory@{DOMAIN}")
    expect(page.get_by_role("heading", name="We could not sign you in")).to_be_visible()
    expect(page.get_by_text("Ask your administrator to invite you")).to_be_visible()
    assert not User.objects.filter(email=f"mallory@{DOMAIN}").exists()


def test_jit_provisioning_creates_a_membership(page, project, make_idp):
    make_idp(jit_provisioning=True)
    _sign_in_upstream(page, email=f"carol.jones@{DOMAIN}")
    page.wait_for_url(re.compile(r"/portal/"))
    user = User.objects.get(email=f"carol.jones@{DOMAIN}")
    assert user.get_full_name() == "Carol Jones"
    assert Membership.objects.get(user=user, project=project).role == "member"


def test_a_client_apps_authorization_code_flow_completes_with_the_federated_session(
    page, project, make_idp, live_server, settings, local_op
):
    settings.ISSUER_URL = live_server.url
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": live_server.url}
    make_idp()
    MembershipFactory(project=project, user=UserFactory(email=f"dana@{DOMAIN}"))
    issued = client_create(
        project=project,
        actor=Actor.system(),
        data=ClientInput(
            name="Acme app",
            grant_types=["authorization_code"],
            redirect_uris=[APP_REDIRECT],
            scopes=["openid", "email"],
        ),
    )
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    nonce, state = secrets.token_urlsafe(8), secrets.token_urlsafe(8)
    arrived: list[str] = []
    page.route(
        "https://app.example/**", lambda route: (arrived.append(route.request.url), route.fulfill(body="ok"))
    )

    page.goto("/o/authorize/?" + urlencode({
        "response_type": "code", "client_id": issued.client.client_id, "redirect_uri": APP_REDIRECT,
        "scope": "openid email", "state": state, "nonce": nonce,
        "code_challenge": challenge, "code_challenge_method": "S256",
    }))  # fmt: skip
    page.wait_for_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Email").fill(f"dana@{DOMAIN}")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/interaction/"))
    page.fill("input[name=login]", f"dana@{DOMAIN}")
    page.fill("input[name=password]", "any password")
    page.click("button:has-text('Sign-in')")
    page.get_by_role("button", name="Allow").click()  # our consent page
    page.wait_for_url(re.compile(r"^https://app\.example/cb"))

    query = parse_qs(urlsplit(arrived[-1]).query)
    assert query["state"] == [state]
    token = requests.post(
        f"{live_server.url}/o/token/",
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": APP_REDIRECT,
            "code_verifier": verifier,
            "client_id": issued.client.client_id,
            "client_secret": issued.client_secret,
        },  # fmt: skip
        timeout=10,
    )
    assert token.status_code == 200, token.text
    payload = token.json()["id_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert (claims["nonce"], claims["amr"], claims["idp"]) == (nonce, ["fed"], local_op.issuer)
