"""Client authentication (RFC 6749 §2.3.1): one parser of the Basic header, one secret check,
the same answers at the token and the introspection endpoint."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.test import Client as HttpClient

from audit.context import Actor
from oauth.client_auth import basic_credentials, client_secret_matches, presented_credentials
from oauth.services import ClientInput, client_create, client_rotate_secret
from tests.factories import ProjectFactory


def _basic(raw: str) -> str:
    return "Basic " + base64.b64encode(raw.encode()).decode()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (_basic("lab-sync:s3cret"), ("lab-sync", "s3cret")),
        # RFC 6749 §2.3.1: both parts are form-urlencoded before joining them with a colon.
        (_basic("my+app%3Av2:se%3Acret%2B+x"), ("my app:v2", "se:cret+ x")),
        (_basic("id:a:b"), ("id", "a:b")),  # only the first colon separates
        (_basic("id:"), ("id", "")),
        # RFC 7235 §2.1: the scheme name is case-insensitive.
        ("basic " + base64.b64encode(b"id:pw").decode(), ("id", "pw")),
        ("Basic  " + base64.b64encode(b"id:pw").decode() + " ", ("id", "pw")),
        ("Bearer abc", None),
        ("Basic", None),
        ("Basic !!!not-base64", None),
        (_basic("no-colon"), None),
        ("Basic " + base64.b64encode(b"\xff\xfe:x").decode(), None),  # not UTF-8
        ("", None),
    ],
)
def test_basic_credentials(header, expected):
    assert basic_credentials(header) == expected


def test_basic_header_wins_over_the_body():
    """One method per request (RFC 6749 §2.3): a Basic header is never mixed with body credentials."""
    assert presented_credentials(authorization=_basic("a:1"), client_id="b", client_secret="2") == ("a", "1")
    assert presented_credentials(authorization="Basic %%%", client_id="b", client_secret="2") is None
    assert presented_credentials(authorization="", client_id="b", client_secret="2") == ("b", "2")
    assert presented_credentials(authorization="Bearer x", client_id="b", client_secret="2") == ("b", "2")
    assert presented_credentials(authorization="", client_id="b", client_secret="") is None
    assert presented_credentials(authorization="", client_id="", client_secret="2") is None


@pytest.fixture
def confidential(db):
    data = ClientInput(name="Lab sync", grant_types=["client_credentials"], scopes=["openid", "portal.read"])
    issued = client_create(project=ProjectFactory(), actor=Actor.system(), data=data)
    issued.client.plain_secret = issued.client_secret
    return issued.client


def test_current_and_retiring_secret(confidential, clock):
    old = confidential.plain_secret
    new = client_rotate_secret(client=confidential, actor=Actor.system(), grace_seconds=3600)
    confidential.refresh_from_db()
    assert client_secret_matches(confidential, new)
    assert client_secret_matches(confidential, old)
    assert not client_secret_matches(confidential, "wrong")
    assert not client_secret_matches(confidential, "")
    clock.advance(timedelta(hours=2))
    assert not client_secret_matches(confidential, old)
    assert client_secret_matches(confidential, new)


def _call(endpoint: str, client, secret: str, method: str):
    http = HttpClient()
    data = {"grant_type": "client_credentials"} if endpoint == "token" else {"token": "unknown"}
    path = "/o/token/" if endpoint == "token" else "/o/introspect/"
    if method == "basic":
        return http.post(path, data, HTTP_AUTHORIZATION=_basic(f"{client.client_id}:{secret}"))
    return http.post(path, {**data, "client_id": client.client_id, "client_secret": secret})


@pytest.mark.parametrize("endpoint", ["token", "introspect"])
@pytest.mark.parametrize("method", ["basic", "post"])
def test_both_endpoints_accept_the_same_secrets(confidential, clock, endpoint, method):
    old = confidential.plain_secret
    new = client_rotate_secret(client=confidential, actor=Actor.system(), grace_seconds=3600)
    assert _call(endpoint, confidential, new, method).status_code == 200
    assert _call(endpoint, confidential, old, method).status_code == 200  # retiring, within its grace
    assert _call(endpoint, confidential, "wrong", method).status_code == 401
    clock.advance(timedelta(hours=2))
    assert _call(endpoint, confidential, old, method).status_code == 401
    assert _call(endpoint, confidential, new, method).status_code == 200
