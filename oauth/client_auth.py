"""Client authentication at the token, revocation and introspection endpoints.

One reader of the credentials a request presents, one check of a secret (RFC 6749 §2.3.1: the
current one, or the previous one while its rotation grace lasts) and one check of a signed
client assertion (`private_key_jwt`, RFC 7523 §2.2 / §3, as SMART Backend Services use it).
The validator (token, revocation) and introspection both call `client_authenticate` and
nothing else.

A client authenticates the one way it is registered for: a `private_key_jwt` client only with
an assertion (a secret is refused), every other client only with its secret (an assertion is
refused). The two secret methods are interchangeable (Basic header or body).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from django.contrib.auth.hashers import check_password
from django.core.cache import cache
from django.urls import reverse

from accounts.services import lockout
from identity.clock import clock
from oauth.app_settings import app_settings
from oauth.client_keys import PRIVATE_MEMBERS, JwksUnavailable, client_signing_keys, key_algorithms
from oauth.constants import ASSERTION_SIGNING_ALGORITHMS
from oauth.errors import InvalidClient

if TYPE_CHECKING:
    from oauth.models import Client

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# The request parameters client authentication reads (besides the Authorization header).
CLIENT_AUTH_PARAMETERS = ("client_id", "client_secret", "client_assertion_type", "client_assertion")
ASSERTION_MAX_LIFETIME_SECONDS = 300  # exp at most this far ahead
ASSERTION_LEEWAY_SECONDS = 30  # clock skew allowed on exp, nbf and iat
MAX_ASSERTION_LENGTH = 16 * 1024


class KeysUnavailable(InvalidClient):
    """The client's jwks_uri could not be read: refused, but not counted as the client's failure."""


def _is_basic(authorization: str) -> bool:
    return (authorization or "").strip().partition(" ")[0].lower() == "basic"


def basic_credentials(authorization: str) -> tuple[str, str] | None:
    """(client_id, secret) from an `Authorization: Basic …` header value, else None.

    RFC 6749 §2.3.1: id and secret are each form-urlencoded, joined by the first colon,
    then base64-encoded (RFC 7617, UTF-8). The scheme name is case-insensitive (RFC 7235
    §2.1). A malformed value is None, never an exception.
    """
    encoded = (authorization or "").strip().partition(" ")[2]
    if not _is_basic(authorization) or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip()).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        return None
    return unquote_plus(client_id), unquote_plus(secret)


def presented_credentials(
    *, authorization: str, client_id: str | None, client_secret: str | None
) -> tuple[str, str] | None:
    """The (client_id, secret) a request authenticates with: the Basic header, else the body.

    A client uses one method per request (RFC 6749 §2.3): when a Basic header is sent,
    only the header counts, even if it is malformed.
    """
    if _is_basic(authorization):
        return basic_credentials(authorization)
    if client_id and client_secret:
        return client_id, client_secret
    return None


def client_secret_matches(client, secret: str) -> bool:
    """Is `secret` the client's current secret, or its retiring one within the grace period?

    Stored secrets are always hashed (DOT's ClientSecretField hashes on save), so Django's
    `check_password` decides, in constant time for our keyed hasher. An empty secret
    never matches, whatever is stored (a public client's field holds a hash of "").
    """
    if not secret:
        return False
    if client.client_secret and check_password(secret, client.client_secret):
        return True
    return bool(
        client.retiring_client_secret
        and client.retiring_secret_expires_at
        and client.retiring_secret_expires_at > clock.now()
        and check_password(secret, client.retiring_client_secret)
    )


def presents_assertion(params: Mapping[str, Any]) -> bool:
    """Does the request carry a client assertion (RFC 7521 §4.2)?"""
    return bool(params.get("client_assertion") or params.get("client_assertion_type"))


def client_authenticate(
    *, authorization: str, params: Mapping[str, Any], load_client: Callable[[str], Client | None]
) -> Client:
    """The client a request authenticates as: by its secret or by a signed assertion.

    `params` holds the request's CLIENT_AUTH_PARAMETERS, `load_client` finds a usable client by
    its id (None when unknown or disabled). Raises `InvalidClient` (its description says what
    was wrong) when the request does not authenticate a client.

    Brute-force protection (accounts/services/lockout.py, scope `client`): failures count per
    client_id named (known or not); a client that must wait or is locked gets the plain
    `InvalidClient` without a description of why, and its credentials are not even checked. A
    client that just authenticated is not looked up in Redis again for LOCKOUT_CLEAR_REUSE_SECONDS
    on this process (a lock made elsewhere refuses it here at most that much later).
    """
    client_id = claimed_client_id(authorization=authorization, params=params)
    keys = {lockout.CLIENT_ID: client_id}
    if client_id and not lockout.attempt_check(scope=lockout.CLIENT, keys=keys, reuse_clear=True).allowed:
        raise InvalidClient()
    try:
        client = _client_authenticate(authorization=authorization, params=params, load_client=load_client)
    except InvalidClient as failure:
        if client_id and not isinstance(failure, KeysUnavailable):
            lockout.attempt_failed(scope=lockout.CLIENT, keys=keys)
        raise
    if client_id:
        lockout.attempt_clear_remember(scope=lockout.CLIENT, keys=keys)
    return client


def claimed_client_id(*, authorization: str, params: Mapping[str, Any]) -> str | None:
    """The client_id a request claims to be (before anything is verified), else None."""
    if presents_assertion(params):
        import jwt
        from jwt.exceptions import PyJWTError

        assertion = params.get("client_assertion")
        claimed = params.get("client_id")
        if not claimed and isinstance(assertion, str) and len(assertion) <= MAX_ASSERTION_LENGTH:
            try:
                claimed = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
            except PyJWTError:
                claimed = None
        return claimed[:255] if isinstance(claimed, str) and claimed else None
    credentials = presented_credentials(
        authorization=authorization,
        client_id=params.get("client_id"),
        client_secret=params.get("client_secret"),
    )
    return credentials[0][:255] if credentials and credentials[0] else None


def _client_authenticate(
    *, authorization: str, params: Mapping[str, Any], load_client: Callable[[str], Client | None]
) -> Client:
    if presents_assertion(params):
        return _client_by_assertion(authorization=authorization, params=params, load_client=load_client)
    credentials = presented_credentials(
        authorization=authorization,
        client_id=params.get("client_id"),
        client_secret=params.get("client_secret"),
    )
    if credentials is None:
        raise InvalidClient()
    client = load_client(credentials[0])
    if client is None:
        raise InvalidClient()
    if client.uses_private_key_jwt:
        raise InvalidClient(
            "This client authenticates with a signed JWT (private_key_jwt), not a secret: send "
            "client_assertion_type and client_assertion."
        )
    if not client_secret_matches(client, credentials[1]):
        raise InvalidClient()
    return client


# --- private_key_jwt (RFC 7523) ---------------------------------------------------------------------


def token_endpoint_audiences() -> tuple[str, ...]:
    """What an assertion's `aud` may be: our token endpoint URL (with or without its final slash)."""
    url = f"{app_settings.ISSUER}{reverse('oauth:token')}"
    return (url, url.rstrip("/"))


def _client_by_assertion(
    *, authorization: str, params: Mapping[str, Any], load_client: Callable[[str], Client | None]
) -> Client:
    import jwt
    from jwt.exceptions import PyJWTError

    if _is_basic(authorization) or params.get("client_secret"):
        raise InvalidClient(
            "Use one way of client authentication per request: a client assertion or a secret, not both."
        )
    if params.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
        raise InvalidClient(f"client_assertion_type must be {CLIENT_ASSERTION_TYPE}.")
    assertion = params.get("client_assertion")
    if not isinstance(assertion, str) or not assertion:
        raise InvalidClient("The client_assertion parameter is missing.")
    if len(assertion) > MAX_ASSERTION_LENGTH:
        raise InvalidClient("The client assertion is too long.")
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except PyJWTError:
        raise InvalidClient("The client assertion is not a signed JWT.") from None
    if header.get("alg") not in ASSERTION_SIGNING_ALGORITHMS:
        raise InvalidClient(
            f"The client assertion must be signed with {', '.join(ASSERTION_SIGNING_ALGORITHMS)}."
        )
    client_id = unverified.get("iss")
    if not isinstance(client_id, str) or not client_id or unverified.get("sub") != client_id:
        raise InvalidClient("The client assertion's iss and sub must both be the client_id.")
    if params.get("client_id") and params.get("client_id") != client_id:
        raise InvalidClient("The client assertion's iss and sub must be the client_id the request names.")
    client = load_client(client_id)
    if client is None:
        raise InvalidClient()
    if not client.uses_private_key_jwt:
        raise InvalidClient(
            "This client is not registered for private_key_jwt: it cannot use a client assertion."
        )
    claims = _verified_claims(assertion, header, client)
    _check_claims(claims, client)
    return client


def _verified_claims(assertion: str, header: dict, client: Client) -> dict:
    """The assertion's claims, once its signature verifies with one of the client's keys."""
    import jwt
    from jwt.exceptions import PyJWTError

    alg, kid = header["alg"], header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise InvalidClient("The client assertion's kid must be a string.")
    try:
        keys = client_signing_keys(client, kid=kid)
    except JwksUnavailable:
        raise KeysUnavailable("The client's keys could not be fetched from its jwks_uri.") from None
    candidates = [
        key
        for key in keys
        if (kid is None or key.get("kid") == kid)
        and alg in key_algorithms(key)
        and not any(member in key for member in PRIVATE_MEMBERS)
    ]
    if not candidates:
        raise InvalidClient(f"No key of this client matches the assertion's kid and alg ({alg}).")
    for key in candidates:
        try:
            payload = jwt.PyJWS().decode(assertion, key=jwt.PyJWK(key, alg).key, algorithms=[alg])
        except (PyJWTError, ValueError, TypeError):
            continue  # not signed with this key (or the JWK is not a usable key)
        try:
            claims = json.loads(payload)
        except ValueError:
            claims = None
        if not isinstance(claims, dict):
            raise InvalidClient("The client assertion's payload is not a JSON object.")
        return claims
    raise InvalidClient("The client assertion's signature does not verify with this client's keys.")


def _numeric_date(value: Any) -> float | None:
    """A JWT NumericDate (RFC 7519 §2), else None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _check_claims(claims: dict, client: Client) -> None:
    """RFC 7523 §3 on a verified assertion: iss, sub, aud, exp (and nbf, iat), a single-use jti."""
    if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
        raise InvalidClient("The client assertion's iss and sub must both be the client_id.")
    audiences = token_endpoint_audiences()
    aud = claims.get("aud")
    values = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if not values or any(value not in audiences for value in values):
        raise InvalidClient(f"The client assertion's aud must be the token endpoint URL, {audiences[0]}.")
    now = time.time()  # JWT times are real time (docs/ARCHITECTURE.md), like PyJWT's own checks
    exp = _numeric_date(claims.get("exp"))
    if exp is None:
        raise InvalidClient("The client assertion must have an exp claim (seconds since the epoch).")
    if exp <= now - ASSERTION_LEEWAY_SECONDS:
        raise InvalidClient("The client assertion has expired.")
    if exp > now + ASSERTION_MAX_LIFETIME_SECONDS + ASSERTION_LEEWAY_SECONDS:
        raise InvalidClient("The client assertion's exp may be at most 5 minutes from now.")
    for name in ("nbf", "iat"):
        moment = _numeric_date(claims.get(name)) if name in claims else now
        if moment is None or moment > now + ASSERTION_LEEWAY_SECONDS:
            raise InvalidClient(
                f"The client assertion's {name} must be a time (seconds since the epoch), not in the future."
            )
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 256:
        raise InvalidClient(
            "The client assertion must have a jti claim (a unique id, at most 256 characters)."
        )
    # Single use: remembered (in Redis in production, shared by every process) until it expires.
    digest = hashlib.sha256(f"{client.client_id}\0{jti}".encode()).hexdigest()
    remember_for = max(1, int(exp - now) + ASSERTION_LEEWAY_SECONDS + 1)
    if not cache.add(f"oauth:client-assertion-jti:{digest}", 1, remember_for):
        raise InvalidClient(
            "This client assertion was used before: sign a new one (a new jti) for every request."
        )
