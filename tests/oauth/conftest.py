"""OAuth fixtures: a project with a member, clients of every kind, and an authlib client
talking to the live server (so the token endpoint is exercised by an independent library)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from authlib.integrations.requests_client import OAuth2Session
from django.test import Client as BrowserClient

from audit.context import Actor
from oauth.services import ClientInput, client_create
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.support.live_server import close_session

REDIRECT = "https://app.example/cb"


@pytest.fixture
def issuer(live_server, settings):
    settings.ISSUER_URL = live_server.url
    settings.APP_BASE_URL = live_server.url
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": live_server.url}
    return live_server.url


@pytest.fixture
def oauth_project(transactional_db):
    return ProjectFactory(name="Clinic")


@pytest.fixture
def member(oauth_project):
    user = UserFactory(email="member@clinic.test", first_name="Mia", last_name="Member")
    MembershipFactory(user=user, project=oauth_project, role="member")
    return user


@pytest.fixture
def make_client(oauth_project):
    def make(**fields):
        project = fields.pop("project", oauth_project)
        data = ClientInput(
            **{
                "name": "Web app",
                "grant_types": ["authorization_code", "refresh_token"],
                "redirect_uris": [REDIRECT],
                "scopes": ["openid", "profile", "email", "offline_access"],
                **fields,
            }
        )
        issued = client_create(project=project, actor=Actor.system(), data=data)
        issued.client.plain_secret = issued.client_secret
        return issued.client

    return make


@pytest.fixture
def web_client(make_client):
    return make_client()


@pytest.fixture
def m2m_client(make_client):
    return make_client(
        name="Lab sync",
        grant_types=["client_credentials"],
        redirect_uris=[],
        scopes=["openid", "portal.read"],
    )


@pytest.fixture
def browser(member):
    """The user's browser: signed in to the portal (sign-in itself is tested elsewhere)."""
    client = BrowserClient()
    client.force_login(member)
    return client


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_params(client, **extra) -> dict:
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid profile email offline_access",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    params = {k: v for k, v in params.items() if v is not None}
    params["_verifier"] = verifier
    return params


def get_code(browser, client, *, consent: bool = True, **extra) -> tuple[str, dict]:
    """Run the authorization request in the browser (approving consent if asked); return (code, params)."""
    params = authorize_params(client, **extra)
    verifier = params.pop("_verifier")
    response = browser.get("/o/authorize/?" + urlencode(params))
    if response.status_code == 200 and consent:
        form = {k: v for k, v in response.context["form"].initial.items() if v is not None}
        form.update({"consent": "1", "allow": "Authorize"})
        response = browser.post("/o/authorize/", form)
    assert response.status_code in (302, 303), response.content[:500]
    location = urlparse(response["Location"])
    query = parse_qs(location.query)
    assert "code" in query, query
    params["_verifier"] = verifier
    params["_query"] = query
    return query["code"][0], params


def session_for(client, *, method: str = "client_secret_basic") -> OAuth2Session:
    session = OAuth2Session(
        client.client_id,
        getattr(client, "plain_secret", None),
        token_endpoint_auth_method=method if getattr(client, "plain_secret", None) else "none",
        redirect_uri=REDIRECT,
    )
    _open_sessions.append(session)
    return session


_open_sessions: list[OAuth2Session] = []


@pytest.fixture(autouse=True)
def _close_oauth_sessions():
    """Close keep-alive connections before the live server and its test database go away.

    `close_session`, not `session.close()`, which leaves idle connections open (see
    tests/support/live_server.py).
    """
    yield
    while _open_sessions:
        close_session(_open_sessions.pop())


def verify_id_token(id_token: str, *, issuer: str, client_id: str, nonce: str | None):
    import requests
    from authlib.jose import JsonWebKey, jwt  # imported here: its deprecation notice is filtered in tests

    jwks = requests.get(f"{issuer}/o/jwks/", timeout=10).json()
    claims = jwt.decode(
        id_token,
        JsonWebKey.import_key_set(jwks),
        claims_options={
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": client_id},
        },
    )
    claims.validate()
    if nonce is not None:
        assert claims["nonce"] == nonce
    return claims
