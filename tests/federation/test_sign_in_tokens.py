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


def test_id_token_after_a_federated_sign_in_says_fed_and_names_the_provider(
    issuer, oauth_project, web_client, upstream
):
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
    user = MembershipFactory(project=oauth_project, user=UserFactory(email="nia@clinic.example")).user
    browser = BrowserClient()
    start = browser.post(reverse("account_login"), {"login": "nia@clinic.example"})
    callback = upstream.authorize(
        start["Location"], sub="g-nia", email="nia@clinic.example", email_verified=True
    )
    assert browser.get(callback).status_code == 302

    claims = _token_claims(browser, web_client, issuer)
    assert claims["sub"] == str(user.pk)
    assert claims["amr"] == ["fed"]
    assert claims["idp"] == "https://accounts.google.com"


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
