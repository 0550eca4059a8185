"""Fixtures of the federation tests: providers, a fake DNS resolver, a local OpenID provider."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dns.exception
import dns.resolver
import pytest

from audit.context import Actor
from federation.services import IdentityProviderInput, identity_provider_create


@pytest.fixture
def actor(admin_user) -> Actor:
    return Actor(user=admin_user, ip_address="203.0.113.7", user_agent="pytest")


@pytest.fixture
def make_idp(project, actor):
    def make(project=project, **fields):
        data = {"kind": "okta", "name": "Acme Okta", "org_domain": "acme.okta.com", "client_id": "0oa1"}
        data.update(fields)
        data.setdefault("client_secret", "upstream-secret-value")
        return identity_provider_create(project=project, actor=actor, data=IdentityProviderInput(**data))

    return make


@pytest.fixture
def idp(make_idp):
    return make_idp()


# --- DNS -----------------------------------------------------------------------------------------


class FakeTxt:
    def __init__(self, *strings: bytes) -> None:
        self.strings = strings


class FakeResolver:
    """Answers from `FakeResolver.zone` {name: [record, …] | exception class}; records are str."""

    zone: dict[str, object] = {}
    asked: list[str] = []

    def resolve(self, name: str, rdtype: str):
        assert rdtype == "TXT"
        FakeResolver.asked.append(name)
        answer = FakeResolver.zone.get(name, dns.resolver.NXDOMAIN)
        if isinstance(answer, type) and issubclass(answer, dns.exception.DNSException):
            raise answer()
        # A long record arrives split in 255-byte strings; the lookup joins them.
        return [FakeTxt(*(r.encode()[i : i + 255] for i in range(0, len(r.encode()), 255))) for r in answer]


def fake_resolver() -> FakeResolver:
    return FakeResolver()


@pytest.fixture
def dns_zone(settings) -> Iterator[dict]:
    settings.FEDERATION_DNS_RESOLVER_FACTORY = "tests.federation.conftest.fake_resolver"
    FakeResolver.zone = {}
    FakeResolver.asked = []
    yield FakeResolver.zone
    FakeResolver.zone = {}


# --- A local OpenID provider (discovery document + JWKS) -----------------------------------------

RSA_JWK = {"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256", "n": "sXch", "e": "AQAB"}


class LocalProvider:
    """What the test HTTP server answers: path → (status, body bytes, content type)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.serve_discovery()
        self.serve_jwks()

    def discovery(self, **overrides) -> dict:
        document = {
            "issuer": self.base,
            "authorization_endpoint": f"{self.base}/authorize",
            "token_endpoint": f"{self.base}/token",
            "jwks_uri": f"{self.base}/jwks",
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
        }
        document.update(overrides)
        return {k: v for k, v in document.items() if v is not None}

    def serve_discovery(self, status: int = 200, body: bytes | None = None, **overrides) -> None:
        self.routes["/.well-known/openid-configuration"] = (
            status,
            body if body is not None else json.dumps(self.discovery(**overrides)).encode(),
        )

    def serve_jwks(self, status: int = 200, body: bytes | None = None, keys: list | None = None) -> None:
        self.routes["/jwks"] = (
            status,
            body if body is not None else json.dumps({"keys": [RSA_JWK] if keys is None else keys}).encode(),
        )


@pytest.fixture
def local_provider(settings) -> Iterator[LocalProvider]:
    settings.FEDERATION_ALLOW_HTTP_ISSUERS = True
    settings.FEDERATION_HTTP_TIMEOUT_SECONDS = 1

    provider: LocalProvider

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path == "/slow":
                threading.Event().wait(2)
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "http://example.com/")
                self.end_headers()
                return
            status, body = provider.routes.get(self.path, (404, b"not found"))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    provider = LocalProvider(f"http://127.0.0.1:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield provider
    server.shutdown()
    server.server_close()
