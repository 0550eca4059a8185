"""The connection test against a real local HTTP server: discovery + JWKS, each failure in plain words."""

from __future__ import annotations

import json
import socket

import pytest

from federation.services import identity_provider_test

pytestmark = pytest.mark.django_db


@pytest.fixture
def local_idp(make_idp, local_provider):
    return make_idp(kind="oidc", issuer=local_provider.base, name="Local")


def test_happy_path(local_idp, local_provider):
    report = identity_provider_test(identity_provider=local_idp)
    assert report.ok, report.message
    assert report.message.startswith("Connected") and "1 signing key" in report.message
    assert report.details["jwks_uri"] == f"{local_provider.base}/jwks"
    assert report.details["token_endpoint"] == f"{local_provider.base}/token"


@pytest.mark.parametrize(
    "setup,text",
    [
        (lambda p: p.serve_discovery(status=404), "answered HTTP 404"),
        (lambda p: p.serve_discovery(status=500), "answered HTTP 500"),
        (lambda p: p.serve_discovery(body=b"<html>login</html>"), "did not return JSON"),
        (lambda p: p.serve_discovery(body=b"[1, 2]"), "not a discovery document"),
        (lambda p: p.serve_discovery(issuer="https://elsewhere.example"), "must match exactly"),
        (lambda p: p.serve_discovery(issuer=p.base + "/"), "including any trailing slash"),
        (lambda p: p.serve_discovery(issuer=None), "does not name its issuer"),
        (lambda p: p.serve_discovery(jwks_uri=None), "no jwks_uri"),
        (lambda p: p.serve_discovery(token_endpoint=None), "no token_endpoint"),
        (lambda p: p.serve_discovery(response_types_supported=["id_token"]), "authorization code flow"),
        (lambda p: p.serve_discovery(code_challenge_methods_supported=["plain"]), "does not list S256"),
        (lambda p: p.serve_discovery(jwks_uri="http://keys.example.com/jwks"), "Use https"),
        (lambda p: p.serve_discovery(jwks_uri=p.base + "/redirect"), "redirects to"),
        (lambda p: p.serve_discovery(jwks_uri=p.base + "/slow"), "did not answer within 1 seconds"),
        (lambda p: p.serve_jwks(status=404), "answered HTTP 404"),
        (lambda p: p.serve_jwks(body=b"nope"), "did not return JSON"),
        (lambda p: p.serve_jwks(body=json.dumps({"no": "keys"}).encode()), "not a JWKS"),
        (lambda p: p.serve_jwks(keys=[]), "publishes no keys"),
        (
            lambda p: p.serve_jwks(keys=[{"kty": "RSA", "use": "enc", "n": "x", "e": "AQAB"}]),
            "no signing keys",
        ),
        (lambda p: p.serve_jwks(keys=[{"kty": "oct", "k": "c2VjcmV0"}]), "no signing keys"),
        (lambda p: p.serve_jwks(body=b"x" * (600 * 1024)), "more than 512 KB"),
    ],
)
def test_each_failure_in_plain_words(local_idp, local_provider, setup, text):
    setup(local_provider)
    report = identity_provider_test(identity_provider=local_idp)
    assert not report.ok
    assert text in report.message, report.message
    assert "Traceback" not in report.message and "Error(" not in report.message


def test_several_problems_are_all_listed(local_idp, local_provider):
    local_provider.serve_discovery(issuer="https://elsewhere.example", token_endpoint=None)
    report = identity_provider_test(identity_provider=local_idp)
    assert len(report.problems) == 2 and report.message == report.problems[0]


def test_unreachable(make_idp, settings):
    settings.FEDERATION_ALLOW_HTTP_ISSUERS = True
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    idp = make_idp(kind="oidc", issuer=f"http://127.0.0.1:{port}", name="Gone")
    report = identity_provider_test(identity_provider=idp)
    assert not report.ok and "connection was refused" in report.message


def test_an_unknown_host(make_idp, settings, monkeypatch):
    def no_such_host(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)  # no network in tests
    idp = make_idp(kind="oidc", issuer="https://login.nowhere.example", name="Nowhere")
    report = identity_provider_test(identity_provider=idp)
    assert not report.ok and "cannot be found in DNS" in report.message


def test_http_is_refused_when_not_allowed(local_idp, settings):
    settings.FEDERATION_ALLOW_HTTP_ISSUERS = False
    report = identity_provider_test(identity_provider=local_idp)
    assert not report.ok and "Use https" in report.message
