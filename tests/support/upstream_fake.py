"""An HTTP-level fake of an upstream OpenID provider (Google by default), for tests that cannot
reach the real one.

It answers the HTTP requests our code sends through allauth's requests session (the one
outbound seam, `SocialAccountAdapter.get_requests_session`) with realistic payloads: Google's
discovery document, a JWKS of RSA keys, and a token endpoint that checks the code, the client
and the PKCE verifier, then returns an RS256-signed ID token with the claims the test chose.
Nothing in our code is patched: the transport under `requests` is.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import requests
from jwcrypto import jwk, jwt
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

GOOGLE_ISSUER = "https://accounts.google.com"


def google_discovery(issuer: str = GOOGLE_ISSUER) -> dict:
    """Google's published configuration (abridged to the fields relying parties use)."""
    return {
        "issuer": issuer,
        "authorization_endpoint": "https://accounts.google.com/o/oauth2/v2/auth",
        "device_authorization_endpoint": "https://oauth2.googleapis.com/device/code",
        "token_endpoint": "https://oauth2.googleapis.com/token",
        "userinfo_endpoint": "https://openidconnect.googleapis.com/v1/userinfo",
        "revocation_endpoint": "https://oauth2.googleapis.com/revoke",
        "jwks_uri": "https://www.googleapis.com/oauth2/v3/certs",
        "response_types_supported": ["code", "token", "id_token", "code token", "code id_token", "none"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": [
            "aud",
            "email",
            "email_verified",
            "exp",
            "family_name",
            "given_name",
            "iat",
            "iss",
            "name",
            "picture",
            "sub",
        ],
        "code_challenge_methods_supported": ["plain", "S256"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code",
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
        ],
    }


def new_rsa_key(kid: str) -> jwk.JWK:
    key = jwk.JWK.generate(kty="RSA", size=2048)
    return jwk.JWK.from_json(
        json.dumps({**json.loads(key.export_private()), "kid": kid, "alg": "RS256", "use": "sig"})
    )


@dataclass
class PendingCode:
    client_id: str
    redirect_uri: str
    nonce: str
    code_challenge: str
    claims: dict


@dataclass
class FakeUpstream:
    """The fake provider. `authorize(location, claims)` plays the person signing in."""

    client_id: str = "1234567890-abc.apps.googleusercontent.com"
    client_secret: str = "GOCSPX-fake-secret"
    discovery: dict = field(default_factory=google_discovery)
    keys: list[jwk.JWK] = field(default_factory=lambda: [new_rsa_key("google-key-1")])
    codes: dict[str, PendingCode] = field(default_factory=dict)
    requests_seen: list[str] = field(default_factory=list)
    # What the next token response carries, when a test wants a broken one.
    token_override: dict | None = None

    @property
    def issuer(self) -> str:
        return self.discovery["issuer"]

    def jwks(self) -> dict:
        return {"keys": [json.loads(k.export_public()) for k in self.keys]}

    def authorize(self, location: str, **claims) -> str:
        """Given our redirect to the authorization endpoint, the callback URL (path + query)
        the provider sends the browser back to, as after the person signed in."""
        parts = urlsplit(location)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == self.discovery["authorization_endpoint"]
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        assert query["client_id"] == self.client_id and query["response_type"] == "code"
        code = secrets.token_urlsafe(24)
        self.codes[code] = PendingCode(
            client_id=query["client_id"],
            redirect_uri=query["redirect_uri"],
            nonce=query.get("nonce", ""),
            code_challenge=query.get("code_challenge", ""),
            claims=claims,
        )
        callback = urlsplit(query["redirect_uri"])
        return f"{callback.path}?code={code}&state={query['state']}"

    def id_token(
        self, *, claims: dict, nonce: str, key: jwk.JWK | None = None, header: dict | None = None
    ) -> str:
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "azp": self.client_id,
            "aud": self.client_id,
            "sub": "110169484474386276334",
            "iat": now,
            "exp": now + 3600,
            "nonce": nonce,
        }
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        key = key or self.keys[0]
        token = jwt.JWT(
            header=header or {"alg": "RS256", "kid": key.get("kid"), "typ": "JWT"}, claims=payload
        )
        token.make_signed_token(key)
        return token.serialize()

    # --- the HTTP side ---------------------------------------------------------------------
    def respond(self, request: requests.PreparedRequest) -> tuple[int, dict]:
        url = request.url or ""
        self.requests_seen.append(f"{request.method} {url}")
        if url == f"{self.issuer.rstrip('/')}/.well-known/openid-configuration":
            return 200, self.discovery
        if url == self.discovery["jwks_uri"]:
            return 200, self.jwks()
        if url == self.discovery["token_endpoint"] and request.method == "POST":
            return self._token(request)
        return 404, {"error": "not_found"}

    def _token(self, request: requests.PreparedRequest) -> tuple[int, dict]:
        form = {
            k: v[0]
            for k, v in parse_qs(
                request.body if isinstance(request.body, str) else (request.body or b"").decode()
            ).items()
        }
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
        if client_id != self.client_id or client_secret != self.client_secret:
            return 401, {"error": "invalid_client"}
        pending = self.codes.pop(form.get("code", ""), None)
        if pending is None or pending.redirect_uri != form.get("redirect_uri"):
            return 400, {"error": "invalid_grant"}
        if pending.code_challenge:
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != pending.code_challenge:
                return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        if self.token_override is not None:
            return 200, self.token_override
        return 200, {
            "access_token": "ya29." + secrets.token_urlsafe(32),
            "expires_in": 3599,
            "scope": "openid https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/userinfo.profile",
            "token_type": "Bearer",
            "id_token": self.id_token(claims=pending.claims, nonce=pending.nonce),
        }


class FakeTransport(BaseAdapter):
    """A `requests` transport adapter that answers from a FakeUpstream."""

    def __init__(self, upstream: FakeUpstream) -> None:
        super().__init__()
        self.upstream = upstream

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        status, body = self.upstream.respond(request)
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json; charset=utf-8"})
        response._content = json.dumps(body).encode()
        response.url = request.url
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


def fake_session_factory(upstream: FakeUpstream):
    """A replacement for `get_requests_session` whose HTTPS traffic goes to `upstream`."""

    def get_requests_session(self):
        session = requests.Session()
        session.mount("https://", FakeTransport(upstream))
        session.mount("http://", FakeTransport(upstream))
        return session

    return get_requests_session
