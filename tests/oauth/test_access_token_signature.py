"""Each client's JWT access tokens are signed with the algorithm it is registered with (RS256 by
default, ES256 on request), on the lean client-credentials path and on DOT's full path alike, and
every such token verifies against the JWKS, introspects and is stored hashed."""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from jwcrypto import jwk, jws
from oauth2_provider.signals import app_authorized
from rest_framework.test import APIClient

from audit.context import Actor
from oauth import keys
from oauth.client_cache import client_cache_forget
from oauth.models import AccessToken, Client
from oauth.services import ClientInput, client_create
from oauth.tokens import token_checksum
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def machine(algorithm: str | None = None):
    extra = {"access_token_algorithm": algorithm} if algorithm else {}
    data = ClientInput(name="Machine", grant_types=["client_credentials"], scopes=["portal.read"], **extra)
    issued = client_create(project=ProjectFactory(), actor=Actor.system(), data=data)
    client_cache_forget()
    return issued.client, issued.client_secret


def grant(client, secret, **extra):
    auth = "Basic " + base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    http = HttpClient()
    response = http.post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "portal.read", **extra},
        HTTP_AUTHORIZATION=auth,
    )
    assert response.status_code == 200, response.content
    token = response.json()["access_token"]
    introspection = http.post("/o/introspect/", {"token": token}, HTTP_AUTHORIZATION=auth).json()
    return token, introspection


def header_and_verified_claims(token: str) -> tuple[dict, dict]:
    signed = jws.JWS()
    signed.deserialize(token)
    signed.verify(jwk.JWKSet.from_json(json.dumps(keys.jwks())))  # raises unless a JWKS key verifies it
    return signed.jose_header, json.loads(signed.payload)


@pytest.mark.parametrize("algorithm", [None, "RS256", "ES256"])
def test_the_lean_path_signs_with_the_clients_algorithm(algorithm):
    client, secret = machine(algorithm)
    token, introspection = grant(client, secret)
    header, claims = header_and_verified_claims(token)
    expected = algorithm or "RS256"
    assert header["alg"] == expected and header["typ"] == "at+jwt"
    assert header["kid"] == keys.signing_key_active(expected).kid
    assert claims["client_id"] == client.client_id
    assert introspection["active"] is True and introspection["jti"] == claims["jti"]
    assert AccessToken.objects.get(token_checksum=token_checksum(token)).token == ""  # hashed at rest


def test_the_full_path_signs_with_the_clients_algorithm_too():
    client, secret = machine("ES256")

    def receiver(sender, request, token, **kwargs):  # a listener sends the grant down DOT's path
        received.append(token)

    received: list = []
    app_authorized.connect(receiver)
    try:
        token, introspection = grant(client, secret)
    finally:
        app_authorized.disconnect(receiver)
    assert received, "the request did not take DOT's path"
    header, _claims = header_and_verified_claims(token)
    assert header["alg"] == "ES256" and introspection["active"] is True


def test_the_api_sets_shows_and_keeps_the_algorithms(project, admin_user):
    api = APIClient()
    api.force_authenticate(admin_user)
    base = f"/api/v1/projects/{project.pk}/clients/"
    created = api.post(
        base,
        {
            "name": "Fast",
            "grant_types": ["client_credentials"],
            "scopes": ["portal.read"],
            "access_token_algorithm": "ES256",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()["client"]
    assert (body["access_token_algorithm"], body["algorithm"]) == ("ES256", "RS256")
    # A PUT that does not name them keeps them; one that does changes them.
    kept = api.put(
        f"{base}{body['id']}/",
        {"name": "Fast", "grant_types": ["client_credentials"], "scopes": ["portal.read"]},
        format="json",
    )
    assert kept.status_code == 200 and kept.json()["access_token_algorithm"] == "ES256"
    changed = api.put(
        f"{base}{body['id']}/",
        {
            "name": "Fast",
            "grant_types": ["client_credentials"],
            "scopes": ["portal.read"],
            "access_token_algorithm": "RS256",
            "algorithm": "ES256",
        },
        format="json",
    )
    assert (changed.json()["access_token_algorithm"], changed.json()["algorithm"]) == ("RS256", "ES256")
    assert Client.objects.get(pk=body["id"]).access_token_algorithm == "RS256"
    refused = api.post(
        base,
        {"name": "Odd", "grant_types": ["client_credentials"], "access_token_algorithm": "HS256"},
        format="json",
    )
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "validation_failed" and "access_token_algorithm" in error["fields"]
    assert not Client.objects.filter(name="Odd").exists()


def test_the_portal_sets_and_shows_the_access_token_signature(admin_client, project):
    response = admin_client.post(
        reverse("portal:client_create", kwargs={"project_slug": project.slug}),
        {"name": "Scheduler", "client_type": "confidential", "grant_types": ["client_credentials"], "scopes": ["portal.read"],
         "algorithm": "RS256", "access_token_algorithm": "ES256"},
    )  # fmt: skip
    assert response.status_code == 303, response.content
    client = Client.objects.get(project=project, name="Scheduler")
    assert client.access_token_algorithm == "ES256"
    detail = admin_client.get(
        reverse("portal:client", kwargs={"project_slug": project.slug, "client_pk": client.pk})
    )
    assert "access tokens ES256, ID tokens RS256" in detail.content.decode()
