"""After a federated sign-in, /o/authorize continues as after a password sign-in, and the ID
token says how the user authenticated: `amr` ["fed"] and `idp` the upstream issuer."""

from __future__ import annotations

import pytest
from django.test import Client as BrowserClient
from django.urls import reverse

from accounts.models import SignInMethod
from audit.context import Actor
from federation.adapters import SocialAccountAdapter
from federation.services import (
    IdentityProviderInput,
    domain_claim_create,
    domain_claim_verify_by_operator,
    identity_provider_create,
)
from tests.factories import MembershipFactory, UserFactory
from tests.oauth import conftest as oauth_fixtures
from tests.oauth.conftest import get_code, session_for, verify_id_token
from tests.support.upstream_fake import FakeUpstream, fake_session_factory

pytestmark = pytest.mark.django_db(transaction=True)

# The OAuth tests' fixtures: a live-server issuer, a project and a confidential web client.
issuer = oauth_fixtures.issuer
oauth_project = oauth_fixtures.oauth_project
make_client = oauth_fixtures.make_client
web_client = oauth_fixtures.web_client
_close_oauth_sessions = oauth_fixtures._close_oauth_sessions


@pytest.fixture
def upstream(monkeypatch) -> FakeUpstream:
    fake = FakeUpstream()
    monkeypatch.setattr(SocialAccountAdapter, "get_requests_session", fake_session_factory(fake))
    return fake


def _token_claims(browser, client, issuer) -> dict:
    code, params = get_code(browser, client)
    token = session_for(client).fetch_token(
        f"{issuer}/o/token/", grant_type="authorization_code", code=code, code_verifier=params["_verifier"]
    )
    return verify_id_token(
        token["id_token"], issuer=issuer, client_id=client.client_id, nonce=params["nonce"]
    )


def _federated_browser(oauth_project, upstream, email="nia@clinic.example"):
    """A browser signed in through the project's Google provider (created here)."""
    oauth_project.allowed_sign_in_methods = [SignInMethod.PASSWORD, SignInMethod.GOOGLE]
    oauth_project.save()
    idp = identity_provider_create(
        project=oauth_project,
        actor=Actor.system(),
        data=IdentityProviderInput(
            kind="google",
            name="Clinic Google",
            client_id=upstream.client_id,
            client_secret=upstream.client_secret,
        ),
    )
    domain_claim_verify_by_operator(
        claim=domain_claim_create(identity_provider=idp, actor=Actor.system(), domain="clinic.example"),
        actor=Actor.system(),
    )
    MembershipFactory(project=oauth_project, user=UserFactory(email=email))
    browser = BrowserClient()
    start = browser.post(reverse("account_login"), {"login": email})
    callback = upstream.authorize(start["Location"], sub=f"g-{email}", email=email, email_verified=True)
    assert browser.get(callback).status_code == 302
    return browser


def test_id_token_after_a_federated_sign_in_says_fed_and_names_the_provider(
    issuer, oauth_project, web_client, upstream
):
    browser = _federated_browser(oauth_project, upstream)
    claims = _token_claims(browser, web_client, issuer)
    assert claims["amr"] == ["fed"]
    assert claims["idp"] == "https://accounts.google.com"


def test_a_refresh_cannot_choose_idp_amr_or_sid(issuer, oauth_project, web_client):
    user = MembershipFactory(project=oauth_project, user=UserFactory(email="ray@clinic.example")).user
    browser = BrowserClient()
    browser.force_login(user)
    code, params = get_code(browser, web_client)
    session = session_for(web_client)
    token = session.fetch_token(
        f"{issuer}/o/token/", grant_type="authorization_code", code=code, code_verifier=params["_verifier"]
    )
    refreshed = session.refresh_token(
        f"{issuer}/o/token/",
        refresh_token=token["refresh_token"],
        idp="https://accounts.google.com",
        amr="fed",
        sid="chosen-by-the-client",
    )
    claims = verify_id_token(refreshed["id_token"], issuer=issuer, client_id=web_client.client_id, nonce=None)
    assert "idp" not in claims and "amr" not in claims and claims.get("sid") != "chosen-by-the-client"


def test_a_session_from_another_projects_provider_does_not_open_this_projects_apps(
    issuer, oauth_project, web_client, upstream
):
    from tests.factories import ProjectFactory

    other = ProjectFactory(name="Other clinic")
    browser = _federated_browser(other, upstream, email="sam@clinic.example")
    # Sam is also a member of the client's project, which does not know that provider.
    from accounts.models import User

    MembershipFactory(project=oauth_project, user=User.objects.get(email="sam@clinic.example"))
    params = {
        "response_type": "code", "client_id": web_client.client_id, "redirect_uri": oauth_fixtures.REDIRECT,
        "scope": "openid", "code_challenge": "x" * 43, "code_challenge_method": "S256",
    }  # fmt: skip
    from urllib.parse import urlencode

    response = browser.get("/o/authorize/?" + urlencode(params))
    assert response.status_code == 302
    assert "error=access_denied" in response["Location"]


def test_id_token_after_a_password_sign_in_says_pwd(issuer, oauth_project, web_client):
    user = MembershipFactory(project=oauth_project, user=UserFactory(email="pat@clinic.example")).user
    user.set_password("correct horse battery")
    user.save()
    user.emailaddress_set.update(verified=True)
    browser = BrowserClient()
    response = browser.post(
        reverse("account_login"), {"login": "pat@clinic.example", "password": "correct horse battery"}
    )
    assert response.status_code == 302
    claims = _token_claims(browser, web_client, issuer)
    assert claims["amr"] == ["pwd"] and "idp" not in claims
