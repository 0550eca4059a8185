"""SMART Backend Services: client authentication with a signed JWT (`private_key_jwt`, RFC 7523).

A backend client registers public keys (inline JWKS or a JWKS URL) and no secret; it gets
tokens with a short-lived assertion signed by its private key (ES384 or RS384 here, as SMART
recommends). Everything an assertion may get wrong is refused as invalid_client (401), a
replayed jti included. The last test runs an independent client library (authlib) against the
live server.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.test import Client as HttpClient
from jwcrypto import jwk
from jwcrypto import jwt as jose_jwt

from audit.context import Actor
from identity.errors import ApplicationError
from oauth.client_auth import CLIENT_ASSERTION_TYPE
from oauth.client_cache import client_cache_forget
from oauth.constants import ASSERTION_SIGNING_ALGORITHMS, GrantType
from oauth.models import AccessToken, Client
from oauth.services import ClientInput, client_create, client_rotate_secret, client_update
from tests.factories import AccessPolicyFactory, AccessPolicyRuleFactory, ProjectFactory

pytestmark = pytest.mark.django_db

ISSUER = "https://id.example"
TOKEN_URL = f"{ISSUER}/o/token/"
MACHINE = GrantType.CLIENT_CREDENTIALS


# --- keys and assertions ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def es384() -> jwk.JWK:
    return jwk.JWK.generate(kty="EC", crv="P-384", kid="backend-es384")


@pytest.fixture(scope="module")
def rs384() -> jwk.JWK:
    return jwk.JWK.generate(kty="RSA", size=2048, kid="backend-rs384")


def public_jwks(*keys: jwk.JWK) -> dict:
    return {"keys": [json.loads(key.export_public()) for key in keys]}


def assertion(key: jwk.JWK, client_id: str, *, alg: str = "ES384", kid: str | None = "", **claims) -> str:
    """A client assertion as SMART Backend Services sign it; `claims` override (None removes)."""
    now = int(time.time())
    payload = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_URL,
        "exp": now + 240,
        "iat": now,
        "jti": str(uuid.uuid4()),
        **claims,
    }
    header = {"alg": alg, "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid or key["kid"]
    token = jose_jwt.JWT(header=header, claims={k: v for k, v in payload.items() if v is not None})
    token.make_signed_token(key)
    return token.serialize()


# --- clients ---------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _issuer(settings):
    settings.ISSUER_URL = ISSUER
    settings.OAUTH_CLIENT_CACHE_SECONDS = 0  # clients changed by a test are seen at once


@pytest.fixture
def project():
    return ProjectFactory()


@pytest.fixture
def policy(project):
    policy = AccessPolicyFactory(project=project, name="Lab reader")
    AccessPolicyRuleFactory(policy=policy, resource_type="Observation", interactions="rs", position=0)
    AccessPolicyRuleFactory(policy=policy, resource_type="Patient", interactions="crus", position=1)
    return policy


def backend(project, policy=None, **fields) -> Client:
    data = {
        "name": f"Lab backend {uuid.uuid4().hex[:8]}",  # client names are unique in a project
        "grant_types": [MACHINE],
        "scopes": ["system/*.rs"],
        "access_policy": policy,
        "token_endpoint_auth_method": "private_key_jwt",
        **fields,
    }
    issued = client_create(project=project, actor=Actor.system(), data=ClientInput(**data))
    assert issued.client_secret is None
    return issued.client


@pytest.fixture
def service(project, policy, es384, rs384) -> Client:
    return backend(project, policy, jwks=public_jwks(es384, rs384))


def token_request(client_assertion: str, **extra) -> dict:
    return {
        "grant_type": MACHINE,
        "scope": "system/*.rs",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": client_assertion,
        **extra,
    }


def post_token(data: dict, **headers):
    return HttpClient().post("/o/token/", data, **headers)


def refused(response, says: str = "") -> str:
    assert response.status_code == 401, response.content
    body = response.json()
    assert body["error"] == "invalid_client"
    assert says.lower() in body["error_description"].lower(), body
    assert response["Cache-Control"] == "no-store" and "WWW-Authenticate" in response
    return body["error_description"]


# --- getting a token -------------------------------------------------------------------------------


@pytest.mark.parametrize(("key_name", "alg"), [("es384", "ES384"), ("rs384", "RS384")])
def test_a_backend_service_gets_a_token_with_a_signed_assertion(request, service, key_name, alg):
    key = request.getfixturevalue(key_name)
    response = post_token(token_request(assertion(key, service.client_id, alg=alg)))
    assert response.status_code == 200, response.content
    body = response.json()
    # The client may ask for system/*.rs; its access policy cuts that to what it allows.
    assert body["scope"].split() == ["system/Observation.rs", "system/Patient.rs"]
    assert body["token_type"] == "Bearer" and "refresh_token" not in body


def test_client_id_in_the_body_must_be_the_assertions(service, es384):
    ok = post_token(token_request(assertion(es384, service.client_id), client_id=service.client_id))
    assert ok.status_code == 200, ok.content
    other = backend(service.project, jwks=public_jwks(es384))
    refused(
        post_token(token_request(assertion(es384, service.client_id), client_id=other.client_id)),
        "client_id the request names",
    )


def test_a_replayed_jti_is_refused(service, es384):
    signed = assertion(es384, service.client_id)
    assert post_token(token_request(signed)).status_code == 200
    refused(post_token(token_request(signed)), "used before")
    # The same jti in a newly signed assertion is a replay too.
    jti = str(uuid.uuid4())
    assert post_token(token_request(assertion(es384, service.client_id, jti=jti))).status_code == 200
    refused(post_token(token_request(assertion(es384, service.client_id, jti=jti))), "used before")


def test_a_refused_assertion_does_not_use_up_its_jti(service, es384):
    jti = str(uuid.uuid4())
    refused(post_token(token_request(assertion(es384, service.client_id, jti=jti, aud=ISSUER))))
    assert post_token(token_request(assertion(es384, service.client_id, jti=jti))).status_code == 200


@pytest.mark.parametrize(
    "aud",
    [
        ISSUER,
        f"{ISSUER}/o/introspect/",
        "https://other.example/o/token/",
        [TOKEN_URL, "https://other.example/o/token/"],
        [],
        None,
    ],
)
def test_a_wrong_audience_is_refused(service, es384, aud):
    refused(post_token(token_request(assertion(es384, service.client_id, aud=aud))), "aud")


@pytest.mark.parametrize("aud", [TOKEN_URL, TOKEN_URL.rstrip("/"), [TOKEN_URL]])
def test_the_token_endpoint_is_the_audience(service, es384, aud):
    assert post_token(token_request(assertion(es384, service.client_id, aud=aud))).status_code == 200


@pytest.mark.parametrize(
    ("exp_in", "says"),
    [
        (3600, "at most 5 minutes"),
        (301 + 60, "at most 5 minutes"),
        (-120, "expired"),
        (None, "exp claim"),
    ],
)
def test_exp_is_required_short_and_not_past(service, es384, exp_in, says):
    exp = None if exp_in is None else int(time.time()) + exp_in
    refused(post_token(token_request(assertion(es384, service.client_id, exp=exp))), says)


def test_nbf_and_iat_in_the_future_are_refused(service, es384):
    later = int(time.time()) + 120
    refused(post_token(token_request(assertion(es384, service.client_id, nbf=later))), "nbf")
    refused(post_token(token_request(assertion(es384, service.client_id, iat=later))), "iat")


def test_jti_is_required(service, es384):
    refused(post_token(token_request(assertion(es384, service.client_id, jti=None))), "jti")


@pytest.mark.parametrize(
    ("iss", "sub"),
    [("SELF", "someone-else"), ("someone-else", "SELF"), ("SELF", None), (None, "SELF")],
)
def test_iss_and_sub_must_both_be_the_client_id(service, es384, iss, sub):
    claims = {
        "iss": service.client_id if iss == "SELF" else iss,
        "sub": service.client_id if sub == "SELF" else sub,
    }
    refused(post_token(token_request(assertion(es384, service.client_id, **claims))), "iss and sub")


def test_an_assertion_naming_another_client_does_not_verify(project, service, es384):
    stranger_key = jwk.JWK.generate(kty="EC", crv="P-384", kid=es384["kid"])
    refused(
        post_token(token_request(assertion(stranger_key, service.client_id))), "signature does not verify"
    )
    unknown = assertion(es384, "no-such-client")
    refused(post_token(token_request(unknown)), "client authentication failed")


def test_symmetric_and_unsigned_assertions_are_refused(service):
    secret_key = jwk.JWK.generate(kty="oct", size=256, kid="backend-es384")
    refused(post_token(token_request(assertion(secret_key, service.client_id, alg="HS256"))), "RS256")
    header = {"alg": "none", "typ": "JWT"}
    claims = {"iss": service.client_id, "sub": service.client_id, "aud": TOKEN_URL}
    claims |= {"exp": int(time.time()) + 60, "jti": "x"}

    def b64(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    refused(post_token(token_request(f"{b64(header)}.{b64(claims)}.")), "RS256")


def test_the_algorithm_must_fit_the_key(service, es384):
    # An ES384 key signs ES384 only; the header cannot pick ES256 for it.
    p256 = jwk.JWK.generate(kty="EC", crv="P-256", kid=es384["kid"])
    refused(post_token(token_request(assertion(p256, service.client_id, alg="ES256"))), "no key")


def test_an_unknown_kid_is_refused_and_no_kid_tries_the_matching_keys(service, es384, rs384):
    refused(post_token(token_request(assertion(es384, service.client_id, kid="rotated-away"))), "no key")
    assert (
        post_token(token_request(assertion(rs384, service.client_id, alg="RS384", kid=None))).status_code
        == 200
    )


def test_malformed_assertions_are_refused(service):
    refused(post_token(token_request("not-a-jwt")), "not a signed JWT")
    refused(post_token(token_request("")), "client_assertion")
    refused(post_token(token_request("a.b.c", client_assertion_type="urn:other")), "client_assertion_type")


# --- one method per client ---------------------------------------------------------------------


def test_a_secret_sent_by_a_private_key_jwt_client_is_refused(service):
    data = {"grant_type": MACHINE, "client_id": service.client_id, "client_secret": "anything"}
    refused(post_token(data), "private_key_jwt")
    basic = "Basic " + base64.b64encode(f"{service.client_id}:anything".encode()).decode()
    refused(post_token({"grant_type": MACHINE}, HTTP_AUTHORIZATION=basic), "private_key_jwt")


def test_an_assertion_with_a_secret_is_refused(service, es384):
    data = token_request(assertion(es384, service.client_id), client_secret="anything")
    refused(post_token(data), "not both")


def test_a_secret_client_cannot_use_an_assertion(project, es384):
    issued = client_create(
        project=project,
        actor=Actor.system(),
        data=ClientInput(name="Secret backend", grant_types=[MACHINE], scopes=["system/*.rs"]),
    )
    assert issued.client.token_endpoint_auth_method == "client_secret_basic" and issued.client_secret
    refused(
        post_token(token_request(assertion(es384, issued.client.client_id))),
        "not registered for private_key_jwt",
    )


def test_a_disabled_client_cannot_authenticate(service, es384):
    Client.objects.filter(pk=service.pk).update(is_active=False)
    client_cache_forget(service.client_id)
    refused(post_token(token_request(assertion(es384, service.client_id))))


def test_introspection_accepts_an_assertion(service, es384):
    token = post_token(token_request(assertion(es384, service.client_id))).json()["access_token"]
    http = HttpClient()
    data = {
        "token": token,
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion(es384, service.client_id),
    }
    answer = http.post("/o/introspect/", data)
    assert answer.status_code == 200 and answer.json()["active"] is True
    assert http.post("/o/introspect/", data).status_code == 401  # the same assertion again


def test_revocation_accepts_an_assertion(service, es384):
    token = post_token(token_request(assertion(es384, service.client_id))).json()["access_token"]
    data = {
        "token": token,
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion(es384, service.client_id),
    }
    assert HttpClient().post("/o/revoke/", data).status_code == 200
    assert not AccessToken.objects.filter(application=service).exists()


def test_discovery_names_private_key_jwt_and_its_algorithms(client):
    document = client.get("/.well-known/openid-configuration").json()
    assert "private_key_jwt" in document["token_endpoint_auth_methods_supported"]
    assert document["token_endpoint_auth_signing_alg_values_supported"] == list(ASSERTION_SIGNING_ALGORITHMS)


# --- keys at a jwks_uri ------------------------------------------------------------------------------


class KeyServer:
    """A JWKS served on 127.0.0.1, counting the fetches."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.url = f"{base}/jwks.json"
        self.jwks: dict = {"keys": []}
        self.fetches = 0
        self.status = 200


@pytest.fixture
def key_server(settings) -> Iterator[KeyServer]:
    settings.OAUTH_CLIENT_JWKS_ALLOW_HTTP_LOOPBACK = True
    settings.OAUTH_CLIENT_JWKS_TIMEOUT = 2
    served: KeyServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", served.url)
                self.end_headers()
                return
            served.fetches += 1
            body = json.dumps(served.jwks).encode()
            self.send_response(served.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    served = KeyServer(f"http://127.0.0.1:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield served
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_keys_at_a_jwks_uri_are_fetched_once_and_cached(project, policy, key_server, es384):
    key_server.jwks = public_jwks(es384)
    client = backend(project, policy, jwks_uri=key_server.url)
    for _ in range(3):
        assert post_token(token_request(assertion(es384, client.client_id))).status_code == 200
    assert key_server.fetches == 1


def test_an_unknown_kid_refetches_the_jwks_once(project, policy, key_server, es384, rs384):
    key_server.jwks = public_jwks(es384)
    client = backend(project, policy, jwks_uri=key_server.url)
    assert post_token(token_request(assertion(es384, client.client_id))).status_code == 200
    assert key_server.fetches == 1
    # The client rotates: its new key is published, then used. One refetch finds it.
    key_server.jwks = public_jwks(es384, rs384)
    response = post_token(token_request(assertion(rs384, client.client_id, alg="RS384")))
    assert response.status_code == 200, response.content
    assert key_server.fetches == 2
    # Made-up kids do not make us fetch again within the cooldown.
    for kid in ("made-up-1", "made-up-2"):
        refused(post_token(token_request(assertion(es384, client.client_id, kid=kid))), "no key")
    assert key_server.fetches == 2


def test_an_unreachable_or_redirecting_jwks_uri_is_invalid_client(project, policy, key_server, es384):
    key_server.jwks = public_jwks(es384)
    moved = backend(project, policy, jwks_uri=f"{key_server.base}/moved")
    refused(post_token(token_request(assertion(es384, moved.client_id))), "could not be fetched")
    assert key_server.fetches == 0  # the redirect was not followed
    key_server.status = 500
    broken = backend(project, policy, jwks_uri=f"{key_server.base}/broken.json")
    refused(post_token(token_request(assertion(es384, broken.client_id))), "could not be fetched")


def test_a_plain_http_jwks_uri_needs_the_loopback_setting(project, settings):
    settings.DEBUG = False
    settings.OAUTH_CLIENT_JWKS_ALLOW_HTTP_LOOPBACK = False
    with pytest.raises(ApplicationError) as refusal:
        backend(project, jwks_uri="http://127.0.0.1:9/jwks.json")
    assert refusal.value.fields == {"jwks_uri": ["Use https."]}


# --- registration -----------------------------------------------------------------------------------


def test_registration_rules(project, es384):
    public_key = public_jwks(es384)
    cases = [
        ({}, "jwks_uri", "exactly one"),
        ({"jwks": public_key, "jwks_uri": "https://b.example/jwks"}, "jwks_uri", "exactly one"),
        ({"jwks": {"keys": [json.loads(es384.export_private())]}}, "jwks", "private key material"),
        ({"jwks": {"keys": [json.loads(jwk.JWK.generate(kty="oct", size=256).export())]}}, "jwks", ""),
        (
            {"jwks": {"keys": [json.loads(jwk.JWK.generate(kty="RSA", size=1024).export_public())]}},
            "jwks",
            "2048",
        ),
        ({"jwks": {"keys": []}}, "jwks", "no keys"),
        ({"jwks": {"not": "a jwks"}}, "jwks", "JWKS"),
        ({"jwks_uri": "http://b.example/jwks"}, "jwks_uri", "https"),
        ({"jwks_uri": "https://10.0.0.8/jwks"}, "jwks_uri", "internal"),
        ({"jwks": public_key, "client_type": "public", "grant_types": ["authorization_code"]}, "", ""),
    ]
    for fields, field, says in cases:
        with pytest.raises(ApplicationError) as refusal:
            backend(project, **{"redirect_uris": ["https://a.example/cb"], **fields})
        if field:
            assert field in refusal.value.fields, (fields, refusal.value.fields)
            assert says.lower() in " ".join(refusal.value.fields[field]).lower(), refusal.value.fields
    with pytest.raises(ApplicationError) as refusal:
        client_create(
            project=project,
            actor=Actor.system(),
            data=ClientInput(name="Secret", grant_types=[MACHINE], jwks=public_key),
        )
    assert "jwks" in refusal.value.fields


def test_a_private_key_jwt_client_has_no_secret_to_rotate(service):
    with pytest.raises(ApplicationError) as refusal:
        client_rotate_secret(client=service, actor=Actor.system())
    assert refusal.value.status == 409 and "private_key_jwt" in refusal.value.message


def test_a_secret_client_switched_to_keys_loses_its_secret(project, policy, es384):
    issued = client_create(
        project=project,
        actor=Actor.system(),
        data=ClientInput(
            name="Migrating", grant_types=[MACHINE], scopes=["system/*.rs"], access_policy=policy
        ),
    )
    data = {
        "grant_type": MACHINE,
        "scope": "system/*.rs",
        "client_id": issued.client.client_id,
        "client_secret": issued.client_secret,
    }
    assert post_token(data).status_code == 200
    client_update(
        client=issued.client,
        actor=Actor.system(),
        data=ClientInput(
            name="Migrating",
            grant_types=[MACHINE],
            scopes=["system/*.rs"],
            access_policy=policy,
            token_endpoint_auth_method="private_key_jwt",
            jwks=public_jwks(es384),
        ),
    )
    refused(post_token(data), "private_key_jwt")
    assert post_token(token_request(assertion(es384, issued.client.client_id))).status_code == 200


def test_public_clients_authenticate_with_none(project):
    issued = client_create(
        project=project,
        actor=Actor.system(),
        data=ClientInput(
            name="SPA",
            client_type="public",
            redirect_uris=["https://a.example/cb"],
            grant_types=["authorization_code"],
        ),
    )
    assert issued.client.token_endpoint_auth_method == "none" and issued.client_secret is None


def test_createclient_prints_no_secret_for_a_key_client(project, policy, es384, tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(public_jwks(es384)))
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "createclient",
        "--project",
        project.slug,
        "--name",
        "Nightly export",
        "--grant",
        "client_credentials",
        "--scope",
        "system/*.rs",
        "--auth-method",
        "private_key_jwt",
        "--jwks-file",
        str(path),
        stdout=out,
        stderr=err,
    )
    credentials = json.loads(out.getvalue())
    assert list(credentials) == ["client_id"]
    assert "no secret" in err.getvalue() and "secret is shown" not in err.getvalue()
    client = Client.objects.get(client_id=credentials["client_id"])
    assert client.uses_private_key_jwt and client.jwks == public_jwks(es384)
    Client.objects.filter(pk=client.pk).update(access_policy=policy)  # what system/*.rs is cut to
    assert post_token(token_request(assertion(es384, client.client_id))).status_code == 200

    out = io.StringIO()
    call_command(
        "createclient",
        *("--project", project.slug, "--name", "By URL", "--grant", "client_credentials"),
        *("--auth-method", "private_key_jwt", "--jwks-uri", "https://backend.example/jwks.json", "--json"),
        stdout=out,
    )
    assert list(json.loads(out.getvalue())) == ["client_id"]


# --- API and portal ---------------------------------------------------------------------------------


def test_the_api_registers_a_key_client_and_shows_no_secret(project, admin_user, es384):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(admin_user)
    base = f"/api/v1/projects/{project.pk}/clients/"
    created = api.post(
        base,
        {
            "name": "Backend",
            "grant_types": ["client_credentials"],
            "scopes": ["system/*.rs"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": public_jwks(es384),
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["client_secret"] is None
    assert body["client"]["token_endpoint_auth_method"] == "private_key_jwt"
    assert body["client"]["jwks"] == public_jwks(es384) and body["client"]["jwks_uri"] == ""
    pk = body["client"]["id"]
    # A PUT that does not name the authentication fields keeps them.
    updated = api.put(
        f"{base}{pk}/",
        {"name": "Backend 2", "grant_types": ["client_credentials"], "scopes": ["system/*.rs"]},
        format="json",
    )
    assert updated.status_code == 200, updated.content
    assert updated.json()["token_endpoint_auth_method"] == "private_key_jwt"
    rotate = api.post(f"{base}{pk}/rotate-secret/")
    assert rotate.status_code == 409 and "private_key_jwt" in rotate.json()["error"]["message"]
    bad = api.post(
        base,
        {
            "name": "Leaky",
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [json.loads(es384.export_private())]},
        },
        format="json",
    )
    assert bad.status_code == 400 and "jwks" in bad.json()["error"]["fields"]


def test_the_portal_form_registers_a_key_client(admin_client, project, es384):
    from django.urls import reverse

    response = admin_client.post(
        reverse("portal:client_create", kwargs={"project_slug": project.slug}),
        {
            "name": "Backend",
            "client_type": "confidential",
            "grant_types": ["client_credentials"],
            "resource_scopes": "system/*.rs",
            "algorithm": "RS256",
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": json.dumps(public_jwks(es384)),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    client = Client.objects.get(project=project, name="Backend")
    assert client.uses_private_key_jwt and client.jwks == public_jwks(es384)
    detail = admin_client.get(response["Location"])
    page = detail.content.decode()
    assert "no secret" in page and "Rotate secret" not in page and "backend-es384" in page
    bad = admin_client.post(
        reverse("portal:client_create", kwargs={"project_slug": project.slug}),
        {
            "name": "Backend 2",
            "client_type": "confidential",
            "grant_types": ["client_credentials"],
            "algorithm": "RS256",
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": "{not json",
        },
    )
    assert bad.status_code == 400 and "not valid JSON" in bad.content.decode()


# --- an independent client library against the live server -----------------------------------------


def test_authlib_private_key_jwt_against_the_live_server(issuer, settings, oauth_project, es384):
    from authlib.integrations.requests_client import OAuth2Session
    from authlib.oauth2.rfc7523 import PrivateKeyJWT
    from joserfc.jwk import ECKey

    from tests.oauth.conftest import _open_sessions

    settings.ISSUER_URL = issuer
    policy = AccessPolicyFactory(project=oauth_project, name="Reader")
    AccessPolicyRuleFactory(policy=policy, resource_type="Observation", interactions="rs", position=0)
    client = backend(oauth_project, policy, jwks=public_jwks(es384))
    token_url = f"{issuer}/o/token/"
    private_key = ECKey.import_key(es384.export_to_pem(private_key=True, password=None))
    session = OAuth2Session(
        client.client_id,
        private_key,
        token_endpoint_auth_method=PrivateKeyJWT(
            token_url,
            alg="ES384",
            headers={"kid": es384["kid"]},
            # authlib's assertions live an hour by default; SMART (and we) allow five minutes.
            claims={"exp": int(time.time()) + 240},
        ),
    )
    _open_sessions.append(session)
    token = session.fetch_token(token_url, grant_type="client_credentials", scope="system/*.rs")
    assert token["scope"] == "system/Observation.rs"
    assert token["token_type"] == "Bearer" and token["access_token"]
