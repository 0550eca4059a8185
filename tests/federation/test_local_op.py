"""The local upstream OpenID provider (tests/support/oidc_provider.py) speaks real OpenID Connect."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests
from jwcrypto import jwk, jwt

from tests.support import oidc_provider
from tests.support.live_server import close_session
from tests.support.oidc_provider import LocalOpenIDProvider

local_op = oidc_provider.local_op  # the session fixture (a conftest would import it)

pytestmark = pytest.mark.services

REDIRECT_URI = "http://127.0.0.1:9/cb"  # never followed: the test reads the Location header


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorization_url(
    op: LocalOpenIDProvider, client_id: str, *, challenge: str, nonce: str, state: str
) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid email profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{op.discovery['authorization_endpoint']}?{query}"


def code_from(location: str, *, state: str) -> str:
    assert location.startswith(REDIRECT_URI + "?"), location
    params = parse_qs(urlsplit(location).query)
    assert params["state"] == [state]
    return params["code"][0]


def verified_id_token_claims(op: LocalOpenIDProvider, id_token: str, *, client_id: str) -> dict:
    keys = jwk.JWKSet.from_json(requests.get(op.discovery["jwks_uri"], timeout=10).text)
    token = jwt.JWT(jwt=id_token, key=keys, algs=["RS256"], check_claims={"iss": op.issuer, "aud": client_id})
    return json.loads(token.claims)


def test_discovery_and_signing_keys(local_op):
    discovery = local_op.discovery
    assert local_op.issuer.startswith("http://127.0.0.1:")
    assert discovery["issuer"] == local_op.issuer
    assert discovery["registration_endpoint"].startswith(local_op.issuer)
    assert "S256" in discovery["code_challenge_methods_supported"]
    assert {"openid", "email", "profile"} <= set(discovery["scopes_supported"])
    assert {"email", "email_verified", "given_name", "family_name", "name"} <= set(
        discovery["claims_supported"]
    )

    keys = requests.get(discovery["jwks_uri"], timeout=10).json()["keys"]
    assert [(key["kty"], key["alg"], key["use"]) for key in keys] == [("RSA", "RS256", "sig")]
    assert keys[0]["kid"]
    assert "d" not in keys[0]  # the public half only


def test_code_flow_with_pkce_and_nonce_step_by_step(local_op):
    client_id, client_secret = local_op.register_client(redirect_uris=[REDIRECT_URI])
    verifier, challenge = pkce_pair()
    nonce, state = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    http = requests.Session()
    try:
        # /auth redirects to the dev login form at /interaction/<uid>
        response = http.get(
            authorization_url(local_op, client_id, challenge=challenge, nonce=nonce, state=state),
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 303, response.text
        form_url = urljoin(local_op.issuer, response.headers["Location"])
        assert urlsplit(form_url).path.startswith("/interaction/")

        page = http.get(form_url, timeout=10)
        assert page.status_code == 200
        assert 'name="login"' in page.text and 'name="password"' in page.text
        assert ">Sign-in</button>" in page.text

        # POST /interaction/<uid> -> /auth/<uid> (resume) -> redirect_uri: consent is auto-granted
        response = http.post(
            form_url,
            data={"prompt": "login", "login": "alice.smith@acme.test", "password": "x"},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 303, response.text
        resume_url = urljoin(local_op.issuer, response.headers["Location"])
        assert urlsplit(resume_url).path.startswith("/auth/")
        response = http.get(resume_url, allow_redirects=False, timeout=10)
        assert response.status_code == 303, response.text
        code = code_from(response.headers["Location"], state=state)
    finally:
        close_session(http)

    tokens = requests.post(
        local_op.discovery["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            "client_id": client_id,
            "client_secret": client_secret,
        },
        timeout=10,
    )
    assert tokens.status_code == 200, tokens.text
    claims = verified_id_token_claims(local_op, tokens.json()["id_token"], client_id=client_id)

    assert claims["sub"] == "sub-alice.smith@acme.test"
    assert claims["email"] == "alice.smith@acme.test"
    assert claims["email_verified"] is True
    assert claims["nonce"] == nonce
    assert (claims["given_name"], claims["family_name"], claims["name"]) == ("Alice", "Smith", "Alice Smith")

    userinfo = requests.get(
        local_op.discovery["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {tokens.json()['access_token']}"},
        timeout=10,
    )
    assert userinfo.json()["sub"] == "sub-alice.smith@acme.test"


def test_unverified_email_with_client_secret_basic(local_op):
    client_id, client_secret = local_op.register_client(
        redirect_uris=[REDIRECT_URI], auth_method="client_secret_basic"
    )
    verifier, challenge = pkce_pair()
    nonce, state = secrets.token_urlsafe(16), secrets.token_urlsafe(16)

    location = local_op.sign_in(
        authorization_url(local_op, client_id, challenge=challenge, nonce=nonce, state=state),
        login="unverified.dave@acme.test",
    )
    tokens = requests.post(
        local_op.discovery["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code_from(location, state=state),
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(client_id, client_secret),
        timeout=10,
    )
    assert tokens.status_code == 200, tokens.text
    claims = verified_id_token_claims(local_op, tokens.json()["id_token"], client_id=client_id)

    assert claims["sub"] == "sub-unverified.dave@acme.test"
    assert claims["email"] == "unverified.dave@acme.test"
    assert claims["email_verified"] is False
    assert claims["nonce"] == nonce
    assert claims["given_name"] == "Dave"


def test_a_login_without_at_sign_has_no_email_claims(local_op):
    client_id, client_secret = local_op.register_client(redirect_uris=[REDIRECT_URI])
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    location = local_op.sign_in(
        authorization_url(local_op, client_id, challenge=challenge, nonce="n", state=state), login="bob"
    )
    tokens = requests.post(
        local_op.discovery["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code_from(location, state=state),
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            "client_id": client_id,
            "client_secret": client_secret,
        },
        timeout=10,
    )
    claims = verified_id_token_claims(local_op, tokens.json()["id_token"], client_id=client_id)
    assert claims["sub"] == "sub-bob"
    assert "email" not in claims and "email_verified" not in claims


def test_consent_form_when_auto_consent_is_off():
    with LocalOpenIDProvider(auto_consent=False) as op:
        client_id, _ = op.register_client(redirect_uris=[REDIRECT_URI])
        _, challenge = pkce_pair()
        http = requests.Session()
        try:
            url = authorization_url(op, client_id, challenge=challenge, nonce="n", state="s")
            login_form = urljoin(
                op.issuer, http.get(url, allow_redirects=False, timeout=10).headers["Location"]
            )
            # after the login: /auth/<uid> -> the consent form at another /interaction/<uid>
            consent = http.post(
                login_form,
                data={"prompt": "login", "login": "alice.smith@acme.test", "password": "x"},
                timeout=10,
            )
            assert urlsplit(consent.url).path.startswith("/interaction/")
            assert consent.url != login_form
            assert '<input type="hidden" name="prompt" value="consent"/>' in consent.text
            assert ">Continue</button>" in consent.text

            response = http.post(consent.url, data={"prompt": "consent"}, allow_redirects=False, timeout=10)
            resume_url = urljoin(op.issuer, response.headers["Location"])
            response = http.get(resume_url, allow_redirects=False, timeout=10)
            assert code_from(response.headers["Location"], state="s")
        finally:
            close_session(http)


def test_stop_ends_the_process():
    op = LocalOpenIDProvider()
    op.start()
    process = op.process
    op.stop()
    assert process is not None and process.returncode == 0
    with pytest.raises(RuntimeError):
        _ = op.issuer


@pytest.mark.parametrize(
    ("required", "outcome"), [("0", pytest.skip.Exception), ("1", pytest.fail.Exception)]
)
def test_without_node_modules_it_skips_or_fails_with_the_fix(tmp_path, monkeypatch, required, outcome):
    monkeypatch.setenv("REQUIRE_SERVICES", required)
    with pytest.raises(outcome, match="npm ci --prefix tests/federation/oidc_provider"):
        LocalOpenIDProvider(package_dir=tmp_path).start()
