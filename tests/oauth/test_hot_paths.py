"""The hot paths stay lean and correct (issue #14 item 3; docs/OAUTH.md "Performance notes").

A client-credentials grant is one SQL statement (the token row), its JWT verifies against the
JWKS, introspection and revocation still see the token; tokens signed without jwcrypto verify
with it for both algorithms; the protocol endpoints run through the short middleware stack
(identity/handlers.py) and the rest of the site through the whole one; the password hasher is
Argon2id at OWASP's minimum and upgrades older hashes.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import urlencode

import pytest
from django.contrib.auth.hashers import check_password, get_hasher, make_password
from django.core.signals import request_started
from django.db import close_old_connections, connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from jwcrypto import jwk, jwt

from audit.context import Actor
from oauth import keys
from oauth.client_cache import client_cache_forget
from oauth.models import AccessToken
from oauth.services import ClientInput, client_create
from oauth.tokens import token_checksum
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def m2m():
    data = ClientInput(name="Machine", grant_types=["client_credentials"], scopes=["openid", "portal.read"])
    issued = client_create(project=ProjectFactory(), actor=Actor.system(), data=data)
    client_cache_forget()
    return issued.client, issued.client_secret


def basic(client, secret) -> str:
    return "Basic " + base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()


def grant(http, client, secret):
    return http.post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "portal.read"},
        HTTP_AUTHORIZATION=basic(client, secret),
    )


def verify(token: str) -> dict:
    key_set = jwk.JWKSet.from_json(json.dumps(keys.jwks()))
    return json.loads(jwt.JWT(jwt=token, key=key_set, expected_type="JWS").claims)


def test_a_client_credentials_grant_is_one_statement_and_its_token_works(m2m):
    client, secret = m2m
    http = Client()
    assert grant(http, client, secret).status_code == 200  # warm: keys, client cache
    with CaptureQueriesContext(connection) as queries:
        response = grant(http, client, secret)
    assert response.status_code == 200, response.content
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    claims = verify(body["access_token"])
    assert claims["client_id"] == client.client_id and claims["sub"] == f"client:{client.client_id}"
    assert body["scope"] == "portal.read" and body["expires_in"] == claims["exp"] - claims["iat"]
    row = AccessToken.objects.get(token_checksum=token_checksum(body["access_token"]))
    assert row.token == "" and row.jti == claims["jti"]  # hashed storage: no plaintext at rest

    auth = basic(client, secret)
    introspect = http.post("/o/introspect/", {"token": body["access_token"]}, HTTP_AUTHORIZATION=auth)
    assert introspect.json()["active"] is True and introspect.json()["jti"] == claims["jti"]
    assert introspect["Cache-Control"] == "no-store" and introspect["Pragma"] == "no-cache"
    revoke = http.post("/o/revoke/", {"token": body["access_token"]}, HTTP_AUTHORIZATION=auth)
    assert revoke.status_code == 200
    introspect = http.post("/o/introspect/", {"token": body["access_token"]}, HTTP_AUTHORIZATION=auth)
    assert introspect.json() == {"active": False}


def test_a_refused_grant_still_gets_the_protocol_error(m2m):
    client, _secret = m2m
    response = grant(Client(), client, "not-the-secret")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert not AccessToken.objects.filter(application=client).exists()


def test_app_authorized_receivers_still_get_the_token(m2m):
    from oauth2_provider.signals import app_authorized

    client, secret = m2m
    seen = []

    def receiver(sender, request, token, **kwargs):
        seen.append(token)

    app_authorized.connect(receiver)
    try:
        response = grant(Client(), client, secret)
    finally:
        app_authorized.disconnect(receiver)
    assert response.status_code == 200
    assert [t.token_checksum for t in seen] == [token_checksum(response.json()["access_token"])]


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_tokens_signed_without_jwcrypto_verify_with_it(algorithm):
    key = keys.signing_key_active(algorithm)
    token = keys.jws_sign(key, header={"typ": "at+jwt"}, claims={"sub": "x", "n": 1})
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"typ": "at+jwt", "alg": algorithm, "kid": key.kid}
    assert verify(token) == {"sub": "x", "n": 1}
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(Exception):  # noqa: B017 (jwcrypto raises its own InvalidJWSSignature)
        verify(tampered)


def _wsgi(application, path: str, *, method: str = "GET", body: str = "", headers: dict | None = None):
    # Django's RequestFactory builds the WSGI environ; the application gets it as a server would.
    environ = (
        RequestFactory()
        .generic(method, path, body, content_type="application/x-www-form-urlencoded", **(headers or {}))
        .environ
    )
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"], answer["headers"] = int(status.split()[0]), response_headers

    # As Django's test client: the test's transaction must survive the request's end.
    request_started.disconnect(close_old_connections)
    try:
        content = b"".join(application(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
    return answer["status"], answer["headers"], content


def test_protocol_endpoints_get_the_short_middleware_stack(m2m):
    from identity.handlers import Application

    client, secret = m2m
    application = Application()
    assert application.protocol_paths() == {"/o/token/", "/o/introspect/", "/o/revoke/"}

    def view_middleware(handler) -> set[str]:
        return {type(method.__self__).__name__ for method in handler._view_middleware}

    assert "CsrfViewMiddleware" in view_middleware(application.full)
    assert "CsrfViewMiddleware" not in view_middleware(application.protocol)

    status, headers, content = _wsgi(
        application,
        "/o/token/",
        method="POST",
        body=urlencode({"grant_type": "client_credentials"}),
        headers={"HTTP_AUTHORIZATION": basic(client, secret)},
    )
    names = {name.lower(): value for name, value in headers}
    assert status == 200 and "access_token" in json.loads(content)
    assert "set-cookie" not in names and "cookie" not in names.get("vary", "").lower()
    # The headers every answer gets are still there (SecurityMiddleware, ours, CORS).
    for header in ("x-content-type-options", "content-security-policy", "referrer-policy"):
        assert header in names, header
    assert names["access-control-allow-origin"] == "*"

    # Any other path, /o/authorize/ included, runs through the whole stack (sessions, CSRF).
    status, headers, _content = _wsgi(application, "/accounts/login/")
    assert status == 200
    assert any(name.lower() == "set-cookie" and "csrftoken" in value for name, value in headers)


def test_the_short_stack_resolves_each_protocol_path_once_and_to_the_same_view(m2m):
    import hashlib
    import inspect

    import django
    from django.core.handlers.base import BaseHandler
    from django.urls import resolve

    from identity.handlers import Application

    # identity/handlers.py overrides BaseHandler.resolve_request (kept results for exact paths):
    # if Django changes it, re-read it and carry the change over.
    source = inspect.getsource(BaseHandler.resolve_request)
    assert hashlib.sha256(source.encode()).hexdigest() == (
        "ff178c3d63eebcd3e38110341593518dcd67d84cff94bbc7dd5aa323637cba6d"
    ), f"Django's BaseHandler.resolve_request changed ({django.get_version()}): re-read identity/handlers.py"

    client, secret = m2m
    application = Application()
    auth = {"HTTP_AUTHORIZATION": basic(client, secret)}
    body = urlencode({"grant_type": "client_credentials"})
    for _ in range(2):
        status, _headers, _content = _wsgi(application, "/o/token/", method="POST", body=body, headers=auth)
        assert status == 200
    kept = application.protocol._resolved["/o/token/"]
    assert kept.func is resolve("/o/token/").func and kept.url_name == "token"
    token = json.loads(_wsgi(application, "/o/token/", method="POST", body=body, headers=auth)[2])[
        "access_token"
    ]
    status, _headers, content = _wsgi(
        application, "/o/introspect/", method="POST", body=urlencode({"token": token}), headers=auth
    )
    assert status == 200 and json.loads(content)["active"] is True
    assert set(application.protocol._resolved) == {"/o/token/", "/o/introspect/"}


def test_passwords_are_argon2id_at_owasp_minimum_and_old_hashes_upgrade(settings):
    from django.contrib.auth.hashers import Argon2PasswordHasher

    settings.PASSWORD_HASHERS = list(__import__("identity.settings", fromlist=["x"]).PASSWORD_HASHERS)
    hasher = get_hasher()
    encoded = make_password("correct horse battery")
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert hasher.must_update(encoded) is False
    old = Argon2PasswordHasher().encode("correct horse battery", Argon2PasswordHasher().salt())
    assert "m=102400,t=2,p=8" in old
    upgraded = []
    assert check_password("correct horse battery", old, setter=upgraded.append)
    assert upgraded == ["correct horse battery"]  # Django re-hashes it with the new parameters


def test_the_lean_and_the_full_path_answer_alike(m2m, monkeypatch):
    """oauth/client_credentials.py answers plain requests; the same request through DOT and
    oauthlib (the lean path declined) gets the same JSON, headers and token claims."""
    from oauth import client_credentials

    client, secret = m2m
    http = Client()
    lean = grant(http, client, secret)
    monkeypatch.setattr(client_credentials, "client_credentials_response", lambda request: None)
    full = grant(http, client, secret)
    assert lean.status_code == full.status_code == 200
    assert list(lean.json()) == list(full.json()) == ["access_token", "expires_in", "token_type", "scope"]
    assert {k: v for k, v in lean.json().items() if k != "access_token"} == {
        k: v for k, v in full.json().items() if k != "access_token"
    }
    for header in ("Content-Type", "Cache-Control", "Pragma", "Access-Control-Allow-Origin"):
        assert lean[header] == full[header], header
    lean_claims, full_claims = verify(lean.json()["access_token"]), verify(full.json()["access_token"])
    assert set(lean_claims) == set(full_claims)
    for name in ("iss", "sub", "aud", "client_id", "scope", "project"):
        assert lean_claims[name] == full_claims[name], name
    rows = AccessToken.objects.filter(application=client).order_by("created")
    assert [(r.scope, r.user_id, r.resource, r.token) for r in rows] == [("portal.read", None, [], "")] * 2


def test_requests_the_lean_path_declines_get_the_full_answer(m2m):
    client, secret = m2m
    auth = basic(client, secret)
    refused = Client().post(
        "/o/token/", {"grant_type": "client_credentials", "scope": "portal.write"}, HTTP_AUTHORIZATION=auth
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"
    assert refused.json()["error_description"]  # with_description's shape, as before
    # A resource indicator (RFC 8707) is DOT's to record: the full path answers and stores it.
    body = {"grant_type": "client_credentials", "scope": "portal.read", "resource": "https://api.example/"}
    response = Client().post("/o/token/", body, HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200
    row = AccessToken.objects.get(token_checksum=token_checksum(response.json()["access_token"]))
    assert row.resource == ["https://api.example/"]


def test_a_wrong_secret_counts_once_towards_the_lockout(m2m):
    from accounts.services import lockout

    client, _secret = m2m
    keys = {lockout.CLIENT_ID: client.client_id}
    counted = []
    original = lockout.attempt_failed

    def spy(**kwargs):
        counted.append(kwargs)
        return original(**kwargs)

    lockout.attempt_failed = spy
    try:
        assert grant(Client(), client, "wrong").status_code == 401
    finally:
        lockout.attempt_failed = original
    assert [c["keys"] for c in counted] == [keys]
