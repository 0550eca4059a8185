"""Verification of an upstream ID token (OIDC Core §3.1.3.7), every time, in one place."""

from __future__ import annotations

import hmac
import json

import jwt

from federation.app_settings import app_settings
from federation.upstream.errors import upstream_error
from federation.upstream.metadata import jwks_keys

# Asymmetric only: an HMAC-signed token would be "signed" with the client secret, and `none`
# is no signature at all.
ALLOWED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat"]


def _key_for(*, jwks_uri: str, kid: str | None, alg: str):
    keys = jwks_keys(jwks_uri=jwks_uri, kid=kid)
    if kid is None:
        candidates = keys if len(keys) == 1 else []
    else:
        candidates = [k for k in keys if k.get("kid") == kid]
    candidates = [k for k in candidates if k.get("use", "sig") == "sig"]
    if not candidates:
        raise upstream_error("unknown_key")
    try:
        return jwt.PyJWK(candidates[0], algorithm=alg)
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
        raise upstream_error("unknown_key") from exc


def id_token_verify(
    *, id_token: str, jwks_uri: str, issuers: set[str], client_id: str, nonce: str | None
) -> dict:
    """The token's claims, or UpstreamError naming what is wrong.

    Checked: the signature against the provider's JWKS (asymmetric algorithms only), `iss` is
    one of `issuers`, `aud` contains `client_id` (and `azp` is it when there are several
    audiences), `exp` and `iat` within the clock skew, and `nonce` equals the one this browser
    session sent (compared in constant time; no nonce on record is a failure, not a pass).
    """
    try:
        header = jwt.get_unverified_header(id_token)
    except (jwt.DecodeError, json.JSONDecodeError, TypeError, ValueError) as exc:
        raise upstream_error("malformed_token") from exc
    alg = header.get("alg")
    if alg not in ALLOWED_ALGORITHMS:
        raise upstream_error("unsupported_algorithm")
    key = _key_for(jwks_uri=jwks_uri, kid=header.get("kid"), alg=alg)
    try:
        claims = jwt.decode(
            id_token,
            key=key,
            algorithms=[alg],
            audience=client_id,
            leeway=app_settings.CLOCK_SKEW_SECONDS,
            options={"require": REQUIRED_CLAIMS, "verify_iss": False},
        )
    except jwt.InvalidSignatureError as exc:
        raise upstream_error("bad_signature") from exc
    except jwt.ExpiredSignatureError as exc:
        raise upstream_error("expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise upstream_error("wrong_audience") from exc
    except (jwt.ImmatureSignatureError, jwt.InvalidIssuedAtError) as exc:
        raise upstream_error("issued_in_future") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise upstream_error("missing_claim") from exc
    except jwt.PyJWTError as exc:
        raise upstream_error("malformed_token") from exc
    if claims.get("iss") not in issuers:
        raise upstream_error("wrong_issuer")
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != client_id:
        raise upstream_error("wrong_audience")
    if not nonce or not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        raise upstream_error("wrong_nonce")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise upstream_error("missing_claim")
    return claims
