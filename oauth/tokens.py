"""JWT access tokens (RFC 9068), generated for oauthlib through DOT's ACCESS_TOKEN_GENERATOR.

The token is still recorded (hashed) by DOT, so revocation and introspection work; the
JWT form lets resource servers verify it offline against the JWKS.
"""

from __future__ import annotations

import hashlib
import time
import uuid

from oauth.app_settings import app_settings
from oauth.constants import GrantType, SigningAlgorithm
from oauth.keys import jws_sign, signing_key_active


def token_checksum(value: str) -> str:
    """SHA-256 hex of a token or authorization code: how stored tokens are looked up.

    The same digest DOT's TokenChecksumField stores in `token_checksum` (hashed token
    storage keeps nothing else), and the one `authorization_code_checksum` links a
    token to the code it came from.
    """
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def access_token_lifetime(client) -> int:
    return int(getattr(client, "access_token_lifetime", None) or app_settings.ACCESS_TOKEN_LIFETIME)


def subject_for(*, user, client) -> str:
    """`sub`: the user's id; for client credentials the client's id, prefixed so it never collides."""
    return str(user.pk) if user is not None else f"client:{client.client_id}"


def access_token_audience(client) -> str:
    """`aud` of the client's access tokens: the project's FHIR server when it has one (SMART),
    else this deployment's API."""
    return client.project.fhir_base_url or f"{app_settings.ISSUER}/api"


def generate_access_token(request, refresh_token: bool = False) -> str:
    client = request.client
    user = (
        request.user
        if getattr(request, "user", None) is not None and getattr(request.user, "pk", None)
        else None
    )
    if request.grant_type == GrantType.CLIENT_CREDENTIALS:
        user = None
    now = int(time.time())
    jti = uuid.uuid4().hex
    # The project's FHIR server or this deployment's API. A client-supplied `resource` (RFC 8707)
    # is not trusted to name the audience; /o/authorize checks `aud` against the project's.
    audience = access_token_audience(client)
    claims = {
        "iss": app_settings.ISSUER,
        "sub": subject_for(user=user, client=client),
        "aud": audience,
        "client_id": client.client_id,
        "scope": " ".join(request.scopes or []),
        "iat": now,
        "exp": now + access_token_lifetime(client),
        "jti": jti,
        "project": str(client.project_id),
    }
    key = signing_key_active(client.access_token_algorithm or SigningAlgorithm.RS256)
    token = jws_sign(key, header={"typ": "at+jwt"}, claims=claims)
    request.access_token_jti = jti
    request.access_token_expires_in = claims["exp"] - now
    return token


def expires_in(request) -> int:
    """oauthlib asks this for `expires_in` (and DOT for the row's expiry): per-client lifetimes."""
    return access_token_lifetime(request.client)
