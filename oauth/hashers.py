"""A hasher for high-entropy client secrets.

Client secrets are 64 URL-safe characters (384 bits) from a CSPRNG (`secrets.token_urlsafe(48)`
in oauth/services.py): nobody can guess them, so a slow, memory-hard hash (Argon2, PBKDF2 at a
million rounds) buys nothing but costs ~0.3 s on *every* token request. A keyed SHA-256 (HMAC
with a server-side pepper, plus a per-secret salt) is what such secrets need: a stolen table
cannot be checked offline without the pepper, and verification takes microseconds.
User passwords never use this hasher (Argon2id stays first in PASSWORD_HASHERS).
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.contrib.auth.hashers import BasePasswordHasher, mask_hash
from django.utils.crypto import constant_time_compare

from identity.crypto import signing_secrets


def _peppers() -> list[bytes]:
    """The pepper that hashes (first), then every pepper that still verifies.

    `CLIENT_SECRET_PEPPER` and its fallbacks, then `SECRET_KEY` and its fallbacks: secrets
    hashed before a pepper was configured (SECRET_KEY was the pepper then) keep working, and
    rotating SECRET_KEY never invalidates client secrets.
    """
    configured = getattr(settings, "CLIENT_SECRET_PEPPER", "")
    fallbacks = getattr(settings, "CLIENT_SECRET_PEPPER_FALLBACKS", []) if configured else []
    ordered = dict.fromkeys(key for key in (configured, *fallbacks, *signing_secrets()) if key)
    return [key.encode() for key in ordered]


class KeyedSHA256SecretHasher(BasePasswordHasher):
    algorithm = "keyed_sha256"

    def encode(self, password: str, salt: str, *, pepper: bytes | None = None) -> str:
        self._check_encode_args(password, salt)
        key = pepper if pepper is not None else _peppers()[0]
        digest = hmac.new(key, f"{salt}${password}".encode(), hashlib.sha256).hexdigest()
        return f"{self.algorithm}${salt}${digest}"

    def decode(self, encoded: str) -> dict:
        algorithm, salt, digest = encoded.split("$", 2)
        assert algorithm == self.algorithm
        return {"algorithm": algorithm, "hash": digest, "salt": salt}

    def verify(self, password: str, encoded: str) -> bool:
        decoded = self.decode(encoded)
        # The current pepper first: the common case costs one HMAC. Which pepper matched is
        # not secret; whether the secret matched is compared in constant time.
        return any(
            constant_time_compare(encoded, self.encode(password, decoded["salt"], pepper=pepper))
            for pepper in _peppers()
        )

    def safe_summary(self, encoded: str) -> dict:
        decoded = self.decode(encoded)
        return {
            "algorithm": decoded["algorithm"],
            "salt": mask_hash(decoded["salt"]),
            "hash": mask_hash(decoded["hash"]),
        }

    def must_update(self, encoded: str) -> bool:
        return False

    def harden_runtime(self, password: str, encoded: str) -> None:
        return None
