"""The public keys of private_key_jwt clients (RFC 7523): what a registered JWKS must look like,
which `jwks_uri`s we call, and the keys themselves, inline or fetched and cached.

Client management (oauth/services.py) validates with `jwks_problems` and `jwks_uri_problem`;
client authentication (oauth/client_auth.py) reads keys with `client_signing_keys`.

A `jwks_uri` is fetched with a timeout, never following redirects, https only (plain http on
127.0.0.1 / localhost only under DEBUG or OAUTH_CLIENT_JWKS_ALLOW_HTTP_LOOPBACK), and cached
in the Django cache (Redis in production) for OAUTH_CLIENT_JWKS_CACHE_SECONDS. A `kid` that is
not in the cached set makes us fetch again (the client rotated its keys), at most once per
OAUTH_CLIENT_JWKS_REFETCH_COOLDOWN per URI, so assertions with made-up `kid`s cannot make us
hammer the client's server.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from typing import Any

import requests
from django.core.cache import cache

from identity.outbound import outbound_url_problem
from oauth.app_settings import app_settings
from oauth.constants import ASSERTION_SIGNING_ALGORITHMS

logger = logging.getLogger(__name__)

MAX_JWKS_BYTES = 64 * 1024
MAX_KEYS = 20
MIN_RSA_BITS = 2048
# The private members of RSA and EC keys (RFC 7518 §6.2.2, §6.3.2) and the secret of a symmetric key.
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
EC_CURVE_OF = {"ES256": "P-256", "ES384": "P-384"}
# Failures are remembered this long so that an unreachable `jwks_uri` does not cost a timeout per request.
FETCH_FAILURE_SECONDS = 10


class JwksUnavailable(Exception):
    """The client's `jwks_uri` could not be fetched or did not answer a JWKS."""


# --- validation (registration) ------------------------------------------------------------------


def _rsa_bits(n: str) -> int:
    padded = n + "=" * (-len(n) % 4)
    try:
        return int.from_bytes(base64.urlsafe_b64decode(padded), "big").bit_length()
    except (ValueError, TypeError):
        return 0


def key_algorithms(key: dict) -> tuple[str, ...]:
    """The assertion algorithms (of ASSERTION_SIGNING_ALGORITHMS) `key` can verify; () for none.

    An RSA key verifies RS256 and RS384, an EC key the ES algorithm of its curve; a key's own
    `alg`, `use` and `key_ops` narrow that further (RFC 7517 §4).
    """
    if key.get("use", "sig") != "sig":
        return ()
    ops = key.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return ()
    if key.get("kty") == "RSA":
        algorithms: tuple[str, ...] = ("RS256", "RS384")
    elif key.get("kty") == "EC":
        algorithms = tuple(alg for alg, curve in EC_CURVE_OF.items() if key.get("crv") == curve)
    else:
        return ()
    if "alg" in key:
        algorithms = tuple(alg for alg in algorithms if alg == key["alg"])
    return algorithms


def jwks_problems(jwks: Any) -> list[str]:
    """What is wrong with a JWKS registered for a client, in plain words; [] when it is usable.

    It must be a JSON object with a `keys` list of public keys (no private or symmetric key
    material), and at least one RSA (2048 bits or more) or EC (P-256, P-384) signing key that
    parses.
    """
    from jwt import PyJWK
    from jwt.exceptions import PyJWTError

    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        return ['Give a JWKS: a JSON object {"keys": [...]} with the client\'s public keys.']
    keys = jwks["keys"]
    if len(json.dumps(jwks)) > MAX_JWKS_BYTES or len(keys) > MAX_KEYS:
        return [f"At most {MAX_KEYS} keys and {MAX_JWKS_BYTES // 1024} KB."]
    problems: list[str] = []
    usable = 0
    for index, key in enumerate(keys):
        name = f"Key {index + 1}" + (
            f" ({key.get('kid')})" if isinstance(key, dict) and key.get("kid") else ""
        )
        if not isinstance(key, dict):
            problems.append(f"{name} is not a JSON object.")
            continue
        if private := [member for member in PRIVATE_MEMBERS if member in key]:
            problems.append(
                f"{name} contains private key material ({', '.join(private)}): register only the "
                "public key, never the private one."
            )
            continue
        if key.get("kty") not in ("RSA", "EC"):
            problems.append(f"{name}: only RSA and EC keys are accepted (kty {key.get('kty')!r}).")
            continue
        if "alg" in key and key["alg"] not in ASSERTION_SIGNING_ALGORITHMS:
            problems.append(f"{name}: alg must be one of {', '.join(ASSERTION_SIGNING_ALGORITHMS)}.")
            continue
        algorithms = key_algorithms(key)
        if not algorithms:
            problems.append(
                f"{name} cannot verify signatures with {', '.join(ASSERTION_SIGNING_ALGORITHMS)} "
                "(check crv, use and key_ops)."
            )
            continue
        if key["kty"] == "RSA" and _rsa_bits(str(key.get("n", ""))) < MIN_RSA_BITS:
            problems.append(f"{name}: an RSA key needs at least {MIN_RSA_BITS} bits.")
            continue
        try:
            PyJWK(key, algorithms[0])
        except (PyJWTError, ValueError, TypeError):
            problems.append(f"{name} is not a valid public key.")
            continue
        usable += 1
    if not problems and not usable:
        problems.append("The JWKS has no keys.")
    return problems


def jwks_uri_problem(uri: str) -> str:
    """Why we would not fetch `uri` as a client's JWKS, in plain words; "" when we would
    (identity/outbound.py's rule). Plain http only to loopback, and only under DEBUG or
    OAUTH_CLIENT_JWKS_ALLOW_HTTP_LOOPBACK."""
    return outbound_url_problem(
        uri,
        allow_http_loopback=app_settings.CLIENT_JWKS_ALLOW_HTTP_LOOPBACK,
        example="https://app.example/.well-known/jwks.json",
    )


# --- keys for verification ---------------------------------------------------------------------


def _cache_key(uri: str) -> str:
    return f"oauth:client-jwks:{hashlib.sha256(uri.encode()).hexdigest()[:32]}"


def _fetch(uri: str) -> list[dict]:
    """The keys at `uri`: one GET, no redirects, a timeout, at most MAX_JWKS_BYTES."""
    if problem := jwks_uri_problem(uri):
        raise JwksUnavailable(f"the jwks_uri is not allowed: {problem}")
    timeout = app_settings.CLIENT_JWKS_TIMEOUT
    try:
        with requests.get(
            uri,
            timeout=(timeout, timeout),
            allow_redirects=False,
            stream=True,
            headers={"Accept": "application/jwk-set+json, application/json"},
        ) as response:
            if response.status_code != 200:
                raise JwksUnavailable(f"the jwks_uri answered HTTP {response.status_code}")
            body = response.raw.read(MAX_JWKS_BYTES + 1, decode_content=True)
    except requests.RequestException as exc:
        raise JwksUnavailable(f"the jwks_uri could not be reached ({type(exc).__name__})") from exc
    if len(body) > MAX_JWKS_BYTES:
        raise JwksUnavailable("the jwks_uri answered more than 64 KB")
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise JwksUnavailable("the jwks_uri did not answer JSON") from exc
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise JwksUnavailable("the jwks_uri did not answer a JWKS")
    return [key for key in keys[:MAX_KEYS] if isinstance(key, dict)]


def _fetch_and_cache(uri: str) -> list[dict]:
    key = _cache_key(uri)
    if cache.get(f"{key}:failed"):
        raise JwksUnavailable("the jwks_uri failed moments ago")
    try:
        keys = _fetch(uri)
    except JwksUnavailable as exc:
        logger.warning("Client JWKS %s: %s", uri, exc)
        cache.set(f"{key}:failed", 1, FETCH_FAILURE_SECONDS)
        raise
    cache.set(key, keys, app_settings.CLIENT_JWKS_CACHE_SECONDS)
    return keys


def client_signing_keys(client, *, kid: str | None) -> list[dict]:
    """The client's public keys (JWK dicts): its inline `jwks`, else those at its `jwks_uri`.

    From a `jwks_uri` they come from the cache; when `kid` is given and not among them, the
    URI is fetched again once (the client rotated its keys), at most once per cooldown.
    Raises JwksUnavailable when the URI cannot be fetched.
    """
    if client.jwks:
        return [key for key in client.jwks.get("keys", []) if isinstance(key, dict)]
    uri = client.jwks_uri
    if not uri:
        return []
    cache_key = _cache_key(uri)
    keys = cache.get(cache_key)
    if keys is None:
        return _fetch_and_cache(uri)
    if (
        kid is not None
        and kid not in {key.get("kid") for key in keys}
        and cache.add(f"{cache_key}:refetch", 1, app_settings.CLIENT_JWKS_REFETCH_COOLDOWN)
    ):
        try:
            keys = _fetch_and_cache(uri)
        except JwksUnavailable:
            pass  # keep the keys we have: the unknown kid stays unknown
    return keys
