"""Signing keys: the active key per algorithm signs, retiring keys still verify (JWKS).

Rotation (``manage.py rotate_signing_key``) publishes a new key first, then makes it
active and keeps the previous one in the JWKS until every token it signed has expired.
Parsed keys are cached per process for OAUTH_KEY_CACHE_SECONDS, so a rotation is
picked up by every worker within that time without parsing PEMs per request.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from django.db import transaction
from jwcrypto import jwk

from identity.clock import clock
from identity.crypto import is_unreadable
from oauth.app_settings import app_settings
from oauth.models import SigningAlgorithm, SigningKey, SigningKeyStatus


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    algorithm: str
    status: str
    jwk: jwk.JWK
    # The parsed private key (cryptography's object), kept for jws_sign: signing with it directly
    # skips jwcrypto's per-token copies of the key and header (most of a token's signing time).
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = field(repr=False, compare=False)


logger = logging.getLogger(__name__)

_cache: dict = {"at": 0.0, "keys": None}
_lock = threading.Lock()


def _generate_pem(algorithm: str) -> str:
    if algorithm == SigningAlgorithm.ES256:
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _load(pem: str, kid: str | None, algorithm: str, status: str) -> LoadedKey:
    key = jwk.JWK.from_pem(pem.encode())
    kid = kid or key.thumbprint()
    key.update(kid=kid, alg=algorithm, use="sig")
    private = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"signing key {kid} is neither RSA nor EC")
    return LoadedKey(kid=kid, algorithm=algorithm, status=status, jwk=key, private=private)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jws_sign(key: LoadedKey, *, header: dict, claims: dict) -> str:
    """A compact JWS (RFC 7515) of `claims`, signed with `key` (RS256: RSASSA-PKCS1-v1_5 with
    SHA-256; ES256: ECDSA P-256 with SHA-256, the signature as r || s, RFC 7518 §3.4). `alg` and
    `kid` of the header are the key's. The bytes are what jwcrypto would sign; only the JSON
    spacing differs, which no verifier reads."""
    header = {**header, "alg": key.algorithm, "kid": key.kid}
    signing_input = (
        _b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64url(json.dumps(claims, separators=(",", ":"), default=str).encode())
    )
    data = signing_input.encode("ascii")
    if key.algorithm == SigningAlgorithm.ES256:
        assert isinstance(key.private, ec.EllipticCurvePrivateKey)
        r, s = decode_dss_signature(key.private.sign(data, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        assert isinstance(key.private, rsa.RSAPrivateKey)
        signature = key.private.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + _b64url(signature)


def signing_key_create(*, algorithm: str, status: str = SigningKeyStatus.ACTIVE) -> SigningKey:
    pem = _generate_pem(algorithm)
    kid = jwk.JWK.from_pem(pem.encode()).thumbprint()
    now = clock.now()
    return SigningKey.objects.create(
        kid=kid,
        algorithm=algorithm,
        private_pem=pem,
        status=status,
        activated_at=now if status == SigningKeyStatus.ACTIVE else None,
    )


class SigningKeyUnreadable(LookupError):
    """A stored signing key that the configured ENCRYPTION_KEYS cannot decrypt."""


def _load_all() -> list[LoadedKey]:
    now = clock.now()
    keys: list[LoadedKey] = []
    if app_settings.SIGNING_KEY_PEM:
        keys.append(_load(app_settings.SIGNING_KEY_PEM, None, "RS256", SigningKeyStatus.ACTIVE))
    rows = SigningKey.objects.exclude(status=SigningKeyStatus.RETIRED)
    for row in rows:
        if row.status == SigningKeyStatus.RETIRING and row.retire_after and row.retire_after <= now:
            continue
        if is_unreadable(row.private_pem):
            # Never replaced silently: relying parties cache this kid, and the operator's fix is
            # to configure the old key again (ENCRYPTION_KEYS / SECRET_KEY_FALLBACKS).
            logger.error(
                "signing key %s (%s, %s) cannot be decrypted with the configured ENCRYPTION_KEYS",
                row.kid,
                row.algorithm,
                row.status,
            )
            if row.status == SigningKeyStatus.ACTIVE:
                raise SigningKeyUnreadable(
                    f"The active {row.algorithm} signing key {row.kid} cannot be decrypted: configure "
                    "the key it was encrypted with in ENCRYPTION_KEYS (or SECRET_KEY_FALLBACKS for "
                    "keys written before ENCRYPTION_KEYS was set)."
                )
            continue
        if (
            app_settings.SIGNING_KEY_PEM
            and row.algorithm == "RS256"
            and row.status == SigningKeyStatus.ACTIVE
        ):
            continue  # the environment's key wins for RS256
        keys.append(_load(row.private_pem, row.kid, row.algorithm, row.status))
    return keys


# pg_advisory_xact_lock key of the first-start key creation (any constant; "OIDCKEYS" in ASCII).
_ENSURE_KEYS_LOCK = 0x4F4944434B455953


def _ensure_keys() -> None:
    """First start: create one active key per algorithm (the environment may provide RS256).

    Several processes start at once in a cluster: on PostgreSQL an advisory lock makes them
    create the keys one after the other, so the later ones find the first one's keys instead of
    each making an active key of its own (a row lock cannot help: there is no row yet)."""
    with transaction.atomic():
        connection = transaction.get_connection()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ENSURE_KEYS_LOCK])
        for algorithm in SigningAlgorithm.values:
            if algorithm == "RS256" and app_settings.SIGNING_KEY_PEM:
                continue
            if (
                not SigningKey.objects.select_for_update()
                .filter(algorithm=algorithm, status=SigningKeyStatus.ACTIVE)
                .exists()
            ):
                signing_key_create(algorithm=algorithm)


def loaded_keys(*, refresh: bool = False) -> list[LoadedKey]:
    with _lock:
        fresh = time.monotonic() - _cache["at"] < app_settings.KEY_CACHE_SECONDS
        if _cache["keys"] is not None and fresh and not refresh:
            return _cache["keys"]
        keys = _load_all()
        active = {k.algorithm for k in keys if k.status == SigningKeyStatus.ACTIVE}
        if not set(SigningAlgorithm.values) <= active:  # one active key per algorithm we offer
            _ensure_keys()
            keys = _load_all()
        _cache.update(at=time.monotonic(), keys=keys)
        return keys


def signing_key_active(algorithm: str = "RS256") -> LoadedKey:
    for key in loaded_keys():
        if key.algorithm == algorithm and key.status == SigningKeyStatus.ACTIVE:
            return key
    raise LookupError(f"No active {algorithm} signing key")


def jwks() -> dict:
    """Public halves of every key that signs or may still verify a live token."""
    return {"keys": [key.jwk.export_public(as_dict=True) for key in loaded_keys()]}


@transaction.atomic
def signing_key_rotate(*, algorithm: str = "RS256", publish_only: bool = False) -> SigningKey:
    """Rotate one algorithm's key.

    Step 1 (`publish_only`): a new key is created as `next`: published in the JWKS so
    relying parties cache it, not signing yet. Step 2 (default): the newest `next` key
    (or a fresh one) becomes active; the previous active key becomes `retiring` and stays
    published until its longest-lived token has expired, then leaves the JWKS.
    """
    if publish_only:
        key = signing_key_create(algorithm=algorithm, status=SigningKeyStatus.NEXT)
    else:
        key = SigningKey.objects.select_for_update().filter(
            algorithm=algorithm, status=SigningKeyStatus.NEXT
        ).first() or signing_key_create(algorithm=algorithm, status=SigningKeyStatus.NEXT)
        now = clock.now()
        longest = max(app_settings.ACCESS_TOKEN_LIFETIME, 36000)
        SigningKey.objects.filter(algorithm=algorithm, status=SigningKeyStatus.ACTIVE).update(
            status=SigningKeyStatus.RETIRING, retiring_at=now, retire_after=now + timedelta(seconds=longest)
        )
        key.status = SigningKeyStatus.ACTIVE
        key.activated_at = now
        key.save(update_fields=["status", "activated_at"])
    transaction.on_commit(lambda: loaded_keys(refresh=True))
    return key
